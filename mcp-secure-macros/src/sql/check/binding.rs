//! Where each owned table is reached in a statement, and what binds its owner and tenant
//! columns to the caller.

use std::{
    collections::{BTreeMap, BTreeSet},
    ops::ControlFlow,
};

use sqlparser::ast::{
    AssignmentTarget, BinaryOperator, Expr, FromTable, JoinConstraint, JoinOperator, ObjectName,
    OnConflictAction, OnInsert, SetExpr, SqliteOnConflict, Statement, TableFactor, TableObject,
    TableWithJoins, UpdateTableFromKind, Value, Visitor,
};

use super::{
    super::owners::{Key, OwnedTables},
    fold, last,
    read::IDENT_MARK,
};

/// The visitor that finds each reference to an owned table and what binds its owner.
pub(super) struct Owners<'o> {
    owned: &'o OwnedTables,
    /// Every owned table named anywhere (by address in the tree), and those a rule covered.
    seen: Vec<(usize, String)>,
    pub(super) covered: BTreeSet<usize>,
    pub(super) slots: BTreeMap<usize, Key>,
    pub(super) errors: Vec<String>,
}

/// A table in a `FROM` (or an update's or delete's target): its name, what qualifies its
/// columns, and the join condition that filters it, if any.
struct InScope<'a> {
    name: &'a ObjectName,
    qualifier: String,
    on: Option<&'a Expr>,
}

impl<'o> Owners<'o> {
    pub(super) fn new(owned: &'o OwnedTables) -> Self {
        Owners {
            owned,
            seen: Vec::new(),
            covered: BTreeSet::new(),
            slots: BTreeMap::new(),
            errors: Vec::new(),
        }
    }

    fn keys_of(&self, name: &ObjectName) -> Option<(String, &'o [(Key, String)])> {
        let table = last(name)?;
        let keys = self.owned.keys(&table);
        (!keys.is_empty()).then_some((table, keys))
    }

    /// Each key column of each owned table of a scope must be bound to the caller:
    /// `alias.owner = {p}` (or `owner = {p}` when it is the scope's only table) among the
    /// top-level `AND`s of the `WHERE`, or of the `ON` of the join that brings it in.
    fn require_bound(&mut self, scope: &[InScope<'_>], filter: Option<&Expr>, verb: &str) {
        // `main.notes` and `temp.notes` are both qualified `notes`: one predicate would seem
        // to bind both.
        for (i, table) in scope.iter().enumerate() {
            let shared = scope[..i]
                .iter()
                .any(|other| !table.qualifier.is_empty() && other.qualifier == table.qualifier);
            let owned = self.keys_of(table.name).is_some();
            if shared && owned {
                self.errors.push(format!(
                    "two tables of one FROM go by `{}`: give each an alias, so that each owner predicate names its table",
                    table.qualifier
                ));
                return;
            }
        }
        for table in scope {
            let Some((name, keys)) = self.keys_of(table.name) else {
                continue;
            };
            let alone = scope.len() == 1;
            let mut all = true;
            for (key, column) in keys {
                let bound = conjuncts(filter)
                    .into_iter()
                    .chain(conjuncts(table.on))
                    .find_map(|e| owner_predicate(e, &table.qualifier, column, alone));
                match bound {
                    Some(slot) => {
                        self.slots.insert(slot, *key);
                    }
                    None => {
                        all = false;
                        self.errors.push(format!(
                            "this query {verb} rows of `{name}`, an owned table ({} in Cargo.toml), without binding its {}: add `AND {}.{column} = {{caller}}` to its WHERE clause, `caller` being the `Principal` whose rows these are",
                            super::super::owners::SECTION,
                            key.word(),
                            table.qualifier,
                        ));
                    }
                }
            }
            if all {
                self.covered.insert(address(table.name));
            }
        }
    }

    /// Assignments must not hand a row of an owned table to another owner or tenant.
    fn check_assignments(&mut self, scope: &[InScope<'_>], targets: &[(&AssignmentTarget, &Expr)]) {
        let owned: Vec<(String, &[(Key, String)])> =
            scope.iter().filter_map(|t| self.keys_of(t.name)).collect();
        if owned.is_empty() {
            return;
        }
        for (target, value) in targets {
            let names: Vec<&ObjectName> = match target {
                AssignmentTarget::ColumnName(n) => vec![n],
                AssignmentTarget::Tuple(ns) => ns.iter().collect(),
            };
            for n in names {
                let Some(column) = last(n) else { continue };
                if column.starts_with(IDENT_MARK) {
                    self.errors.push(format!(
                        "a column named by an `{{x:ident}}` placeholder is assigned in an update of `{}`, an owned table: it could be its owner or tenant column; name the columns in the template",
                        owned[0].0
                    ));
                    continue;
                }
                for (table, keys) in &owned {
                    for (key, key_column) in keys.iter() {
                        if column != *key_column {
                            continue;
                        }
                        match placeholder(value) {
                            Some(slot) => {
                                self.slots.insert(slot, *key);
                            }
                            None => self.errors.push(format!(
                                "this update sets `{table}.{key_column}`, the {} of an owned table, to something other than the caller's: a row cannot be handed over; leave the column out of SET",
                                key.word()
                            )),
                        }
                    }
                }
            }
        }
    }

    fn insert(&mut self, insert: &sqlparser::ast::Insert) {
        let TableObject::TableName(name) = &insert.table else {
            return;
        };
        let Some((table, keys)) = self.keys_of(name) else {
            return;
        };
        let column = keys[0].1.as_str();
        self.covered.insert(address(name));
        let refuse = |why: &str| {
            format!(
                "an insert into `{table}`, an owned table, must {why}; write `INSERT INTO {table} ({column}, ...) VALUES ({{caller}}, ...)`"
            )
        };
        // Replacing or updating the row a key collides with could touch another owner's row.
        let overwrite = |how: &str| {
            format!(
                "an insert into `{table}`, an owned table, must not {how}: the row it collides with could be another owner's; write `ON CONFLICT DO NOTHING`, or an UPDATE bound to the caller"
            )
        };
        if insert.replace_into || matches!(insert.or, Some(SqliteOnConflict::Replace)) {
            self.errors.push(overwrite("replace rows"));
            return;
        }
        match &insert.on {
            Some(OnInsert::DuplicateKeyUpdate(_)) => {
                self.errors.push(overwrite("update on a duplicate key"));
                return;
            }
            Some(OnInsert::OnConflict(c)) if matches!(c.action, OnConflictAction::DoUpdate(_)) => {
                self.errors.push(overwrite("update on conflict"));
                return;
            }
            _ => {}
        }
        if !insert.assignments.is_empty() {
            self.errors
                .push(refuse("give its rows with VALUES, not SET"));
            return;
        }
        let rows = match insert.source.as_deref().map(|q| q.body.as_ref()) {
            Some(SetExpr::Values(values)) => &values.rows,
            _ => {
                self.errors.push(refuse("take its rows from VALUES"));
                return;
            }
        };
        for (key, column) in keys {
            let Some(position) = insert
                .columns
                .iter()
                .position(|c| last(c).as_deref() == Some(column.as_str()))
            else {
                self.errors.push(refuse(&format!(
                    "name its {} column `{column}`",
                    key.word()
                )));
                return;
            };
            for row in rows {
                match row.content.get(position).and_then(placeholder) {
                    Some(slot) => {
                        self.slots.insert(slot, *key);
                    }
                    None => {
                        self.errors.push(refuse(&format!(
                            "bind its {} column `{column}` to the caller in every row",
                            key.word()
                        )));
                        return;
                    }
                }
            }
        }
    }

    /// Owned tables named somewhere no rule looked (a `TRUNCATE`, a `DROP`, a function): refused.
    pub(super) fn unreached(&mut self) {
        for (at, table) in &self.seen {
            if !self.covered.contains(at) && self.errors.is_empty() {
                self.errors.push(format!(
                    "this statement reaches `{table}`, an owned table, where its owner cannot be checked (only a query's FROM, an update's or a delete's target and an insert's table are)"
                ));
            }
        }
    }
}

impl Visitor for Owners<'_> {
    type Break = ();

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
        if let Some(name) = last(relation) {
            if name.starts_with(IDENT_MARK) {
                self.errors.push(
                    "a table named by an `{x:ident}` placeholder cannot be checked for its owner; name the table in the template".into(),
                );
            } else if self.owned.is_owned(&name) {
                self.seen.push((address(relation), name));
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &sqlparser::ast::Select) -> ControlFlow<()> {
        let scope = scope_of(&select.from);
        self.require_bound(&scope, select.selection.as_ref(), "reads");
        ControlFlow::Continue(())
    }

    fn pre_visit_statement(&mut self, statement: &Statement) -> ControlFlow<()> {
        match statement {
            Statement::Update(u) => {
                let mut scope = scope_of(std::slice::from_ref(&u.table));
                if let Some(
                    UpdateTableFromKind::BeforeSet(from) | UpdateTableFromKind::AfterSet(from),
                ) = &u.from
                {
                    scope.extend(scope_of(from));
                }
                if matches!(u.or, Some(SqliteOnConflict::Replace))
                    && scope.iter().any(|t| self.keys_of(t.name).is_some())
                {
                    self.errors.push(
                        "an update of an owned table may not be `UPDATE OR REPLACE`: the row its new key collides with could be another owner's".into(),
                    );
                }
                self.require_bound(&scope, u.selection.as_ref(), "updates");
                let targets: Vec<_> = u
                    .assignments
                    .iter()
                    .map(|a| (&a.target, &a.value))
                    .collect();
                self.check_assignments(&scope, &targets);
            }
            Statement::Delete(d) => {
                let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) = &d.from;
                let mut scope = scope_of(from);
                if let Some(using) = &d.using {
                    scope.extend(scope_of(using));
                }
                self.require_bound(&scope, d.selection.as_ref(), "deletes");
            }
            Statement::Insert(i) => self.insert(i),
            // Definitions name a table without reading its rows; a query inside one (CREATE
            // TABLE AS) is visited as any other.
            Statement::CreateTable(c) if self.keys_of(&c.name).is_some() => {
                self.covered.insert(address(&c.name));
            }
            Statement::CreateIndex(c) if self.keys_of(&c.table_name).is_some() => {
                self.covered.insert(address(&c.table_name));
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// The tables of a `FROM` list with their joins, nested joins flattened.
fn scope_of(from: &[TableWithJoins]) -> Vec<InScope<'_>> {
    let mut scope = Vec::new();
    for t in from {
        add_factor(&t.relation, None, &mut scope);
        for join in &t.joins {
            add_factor(
                &join.relation,
                filtering_on(&join.join_operator),
                &mut scope,
            );
        }
    }
    scope
}

fn add_factor<'a>(factor: &'a TableFactor, on: Option<&'a Expr>, scope: &mut Vec<InScope<'a>>) {
    match factor {
        TableFactor::Table { name, alias, .. } => scope.push(InScope {
            name,
            qualifier: alias
                .as_ref()
                .map(|a| a.name.value.to_ascii_lowercase())
                .or_else(|| last(name))
                .unwrap_or_default(),
            on,
        }),
        TableFactor::NestedJoin {
            table_with_joins, ..
        } => scope.extend(scope_of(std::slice::from_ref(table_with_joins))),
        // A derived table or function counts as a table of the scope (an unqualified owner
        // column is then ambiguous), and its own query is checked where it is visited.
        _ => scope.push(InScope {
            name: &EMPTY,
            qualifier: String::new(),
            on: None,
        }),
    }
}

static EMPTY: ObjectName = ObjectName(Vec::new());

/// The `ON` condition of a join that filters its right-hand table's rows (inner and left
/// joins); a right or full join keeps that table's rows whatever its condition says.
fn filtering_on(op: &JoinOperator) -> Option<&Expr> {
    match op {
        JoinOperator::Join(JoinConstraint::On(e))
        | JoinOperator::Inner(JoinConstraint::On(e))
        | JoinOperator::Left(JoinConstraint::On(e))
        | JoinOperator::LeftOuter(JoinConstraint::On(e)) => Some(e),
        _ => None,
    }
}

/// The top-level `AND`ed terms of a condition.
fn conjuncts(e: Option<&Expr>) -> Vec<&Expr> {
    let mut out = Vec::new();
    let mut stack: Vec<&Expr> = e.into_iter().collect();
    while let Some(e) = stack.pop() {
        match e {
            Expr::BinaryOp {
                left,
                op: BinaryOperator::And,
                right,
            } => {
                stack.push(left);
                stack.push(right);
            }
            Expr::Nested(inner) => stack.push(inner),
            other => out.push(other),
        }
    }
    out
}

/// The placeholder of `qualifier.column = {p}` (either way round), or of `column = {p}` when
/// the table is alone in its scope.
fn owner_predicate(e: &Expr, qualifier: &str, column: &str, alone: bool) -> Option<usize> {
    let Expr::BinaryOp {
        left,
        op: BinaryOperator::Eq,
        right,
    } = e
    else {
        return None;
    };
    let is_column = |e: &Expr| match e {
        Expr::Identifier(id) => alone && fold(&id.value) == column,
        Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
            fold(&parts[parts.len() - 1].value) == column
                && fold(&parts[parts.len() - 2].value) == qualifier
        }
        _ => false,
    };
    if is_column(left) {
        placeholder(right)
    } else if is_column(right) {
        placeholder(left)
    } else {
        None
    }
}

/// The number of a value placeholder (`$3`, `?3`).
fn placeholder(e: &Expr) -> Option<usize> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Placeholder(p) => p.get(1..)?.parse().ok(),
            _ => None,
        },
        _ => None,
    }
}

fn address(name: &ObjectName) -> usize {
    std::ptr::from_ref(name) as usize
}
