use super::*;

#[test]
fn a_governed_statement_takes_conditions_anded_and_nothing_else() {
    use template::{Shape, governed};
    let statement = || {
        governed(
            sql!("SELECT id FROM notes WHERE owner = {o}", o = "a"),
            Shape::Statement,
            true,
        )
    };
    let condition = |c: Sql| governed(c, Shape::Condition, true);
    let mut narrowed = statement();
    narrowed.push_and([condition(sql!("tag = {t} OR 1 = 1", t = "x"))]);
    assert_eq!(
        narrowed.render(Dialect::Sqlite).unwrap().0,
        "SELECT id FROM notes WHERE owner = ?1 AND (tag = ?2 OR 1 = 1)"
    );
    // A condition that is not one (a fragment of a crate without owned tables) widens.
    let mut widened = statement();
    widened.push_and([sql!("1) OR (1 = 1")]);
    assert_eq!(
        widened.render(Dialect::Sqlite),
        Err(SqlError::OwnedExtended)
    );
    let mut pushed = statement();
    pushed.push(sql!(" OR 1 = 1"));
    assert_eq!(pushed.render(Dialect::Sqlite), Err(SqlError::OwnedExtended));
    let mut filtered = statement();
    filtered.push_where([sql!("1 = 1")]);
    assert_eq!(
        filtered.render(Dialect::Postgres),
        Err(SqlError::OwnedExtended)
    );
    let joined = Sql::join([statement(), statement()], &sql!(" UNION "));
    assert_eq!(joined.render(Dialect::Sqlite), Err(SqlError::OwnedExtended));
    // A condition alone is not a statement.
    assert_eq!(
        condition(sql!("1 = 1")).render(Dialect::Sqlite),
        Err(SqlError::OwnedExtended)
    );
    // Spliced into another query, a governed statement's pieces are refused too.
    let mut outer = sql!("SELECT 1 WHERE 1 = 1");
    outer.push_and([statement()]);
    assert_eq!(outer.render(Dialect::Sqlite), Err(SqlError::OwnedExtended));
    // Pushed onto nothing, it stays itself.
    let mut alone = Sql::default();
    alone.push(statement());
    assert!(alone.render(Dialect::Sqlite).is_ok());
    // Bound to someone other than the caller, it never renders, however extended.
    let mut other = governed(sql!("SELECT 1"), Shape::Statement, false);
    assert_eq!(other.render(Dialect::Sqlite), Err(SqlError::NotTheCaller));
    other.push(sql!(" OR 1 = 1"));
    assert_eq!(other.render(Dialect::Sqlite), Err(SqlError::NotTheCaller));
}

#[test]
fn values_are_bound_never_spliced() {
    let evil = "x' OR '1'='1";
    let q = sql!("SELECT * FROM t WHERE name = {evil}");
    let (text, values) = q.render(Dialect::Sqlite).unwrap();
    assert_eq!(text, "SELECT * FROM t WHERE name = ?1");
    assert_eq!(values, [SqlValue::Text(evil.into())]);
    let none: Option<i64> = None;
    let (_, values) = sql!("SELECT {none}, {b}, {f}", b = true, f = 1.5)
        .render(Dialect::MySql)
        .unwrap();
    assert_eq!(
        values,
        [SqlValue::Null, SqlValue::Bool(true), SqlValue::Float(1.5)]
    );
}

#[test]
fn lists_expand_and_empty_lists_are_refused() {
    let ids: Vec<i64> = vec![1, 2, 3];
    let (text, values) = sql!("SELECT 1 WHERE id IN {ids:list}")
        .render(Dialect::Postgres)
        .unwrap();
    assert_eq!(text, "SELECT 1 WHERE id IN ($1, $2, $3)");
    assert_eq!(values.len(), 3);
    let empty: Vec<i64> = Vec::new();
    assert_eq!(
        sql!("SELECT 1 WHERE id IN {empty:list}").render(Dialect::Sqlite),
        Err(SqlError::EmptyList)
    );
}

#[test]
fn joins_renumber() {
    let parts = ["a", "b"].map(|t| sql!("tag = {t}"));
    let mut q = sql!("SELECT 1 WHERE ");
    q.push(Sql::join(parts, &sql!(" OR ")));
    assert_eq!(
        q.render(Dialect::Postgres).unwrap().0,
        "SELECT 1 WHERE tag = $1 OR tag = $2"
    );
}

fn kept_as_template(q: &Sql) -> bool {
    matches!(q.parts, Parts::Template(_))
}

#[test]
fn text_rendered_at_compile_time_is_what_run_time_rendering_writes() {
    let (a, b) = ("x", 2);
    let q = sql!(
        "SELECT id FROM t WHERE a = {a} AND b > {b} AND c = {c} ORDER BY id",
        c = 1.5
    );
    assert!(kept_as_template(&q));
    let assembled = Sql {
        parts: Parts::Assembled(q.parts().collect()),
        values: q.values.clone(),
        owned: Ownership::Unowned,
    };
    for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql] {
        assert_eq!(q.render(dialect), assembled.render(dialect));
    }
    assert_eq!(q, assembled);
    assert_eq!(
        q.render(Dialect::Postgres).unwrap().0,
        "SELECT id FROM t WHERE a = $1 AND b > $2 AND c = $3 ORDER BY id"
    );
}

#[test]
fn composition_renumbers_and_drops_the_compile_time_text() {
    let mut q = Sql::default();
    q.push(sql!("SELECT id FROM t WHERE a = {a}", a = 1));
    // Pushed onto nothing, the template is kept whole.
    assert!(kept_as_template(&q));
    q.push(sql!(" AND b = {b}", b = 2));
    assert!(!kept_as_template(&q));
    assert_eq!(
        q.render(Dialect::Sqlite).unwrap(),
        (
            "SELECT id FROM t WHERE a = ?1 AND b = ?2".to_owned(),
            vec![SqlValue::Int(1), SqlValue::Int(2)]
        )
    );
    let mut filtered = sql!("SELECT id FROM t");
    filtered.push_where([sql!("a = {a}", a = 3)]);
    assert!(!kept_as_template(&filtered));
    assert_eq!(
        filtered.render(Dialect::Postgres).unwrap().0,
        "SELECT id FROM t WHERE (a = $1)"
    );
    let mut unfiltered = sql!("SELECT id FROM t WHERE a = {a}", a = 3);
    unfiltered.push_where(std::iter::empty());
    assert!(kept_as_template(&unfiltered));
}

/// Whatever reaches rendering as an identifier is quoted with its quote character doubled,
/// or refused: the names `SqlIdent` gives are constants checked when derived, and this is
/// the second line.
#[test]
fn identifiers_are_quoted_with_doubled_quotes_and_controls_refused() {
    let hostile = Sql {
        parts: Parts::Assembled(vec![
            Part::Text("SELECT "),
            Part::Ident("id\" FROM t; DROP TABLE t; --"),
            Part::Text(" FROM t"),
        ]),
        values: Vec::new(),
        owned: Ownership::Unowned,
    };
    assert_eq!(
        hostile.render(Dialect::Postgres).unwrap().0,
        r#"SELECT "id"" FROM t; DROP TABLE t; --" FROM t"#
    );
    let backtick = Sql {
        parts: Parts::Assembled(vec![Part::Ident("a`b\"c")]),
        values: Vec::new(),
        owned: Ownership::Unowned,
    };
    assert_eq!(backtick.render(Dialect::MySql).unwrap().0, "`a``b\"c`");
    assert_eq!(backtick.render(Dialect::Sqlite).unwrap().0, r#""a`b""c""#);
    for name in ["", "a\0b", "a\nb", "a\u{1b}[2J", "a\u{85}b"] {
        let q = Sql {
            parts: Parts::Assembled(vec![Part::Ident(name)]),
            values: Vec::new(),
            owned: Ownership::Unowned,
        };
        assert_eq!(
            q.render(Dialect::Sqlite),
            Err(SqlError::Identifier),
            "{name:?}"
        );
    }
}

/// A hand-written template is a constant too; values that do not fit it make a query that
/// renders nothing.
#[test]
fn values_that_do_not_fit_their_template_are_refused() {
    struct Hand;
    impl template::Template for Hand {
        const TEMPLATE: &'static SqlTemplate = &SqlTemplate {
            slots: &[SqlSlot::Text("SELECT "), SqlSlot::Value],
            text: ["SELECT ?1", "SELECT $1", "SELECT ?"],
        };
    }
    let ok = template::template::<Hand>(vec![SqlValue::Int(1)]);
    assert_eq!(ok.render(Dialect::Postgres).unwrap().0, "SELECT $1");
    let too_many = template::template::<Hand>(vec![SqlValue::Int(1), SqlValue::Int(2)]);
    assert_eq!(too_many.render(Dialect::Postgres), Err(SqlError::Malformed));
    let none = template::template::<Hand>(Vec::new());
    assert_eq!(none.render(Dialect::Sqlite), Err(SqlError::Malformed));
    let ident_for_value = template::assemble::<Hand>(vec![template::list(&[1, 2][..])]);
    assert_eq!(
        ident_for_value.render(Dialect::Sqlite),
        Err(SqlError::Malformed)
    );
    let mut composed = sql!("SELECT 1");
    composed.push(too_many);
    assert_eq!(composed.render(Dialect::Sqlite), Err(SqlError::Malformed));
}

#[test]
fn like_patterns_match_literally() {
    assert_eq!(like_contains(""), "%%");
    assert_eq!(like_contains("a\\b"), "%a\\\\b%");
    assert_eq!(like_contains("100%"), "%100\\%%");
}
