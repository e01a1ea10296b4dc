//! The functions and FROM items a template of a crate with owned tables may use: those known to
//! read no table.

use std::ops::ControlFlow;

use sqlparser::ast::{Expr, ObjectName, TableFactor, Visitor};

use super::last;

/// Functions a template of a crate with owned tables may call: scalar, aggregate and window
/// functions that read no table. Any other (PostgreSQL's `query_to_xml`, `table_to_xml`,
/// `dblink`, a user's function) could read an owned table by a name in a string.
pub(super) const FUNCTIONS: &[&str] = &[
    "abs",
    "array_agg",
    "avg",
    "bool_and",
    "bool_or",
    "btrim",
    "ceil",
    "ceiling",
    "char",
    "char_length",
    "character_length",
    "coalesce",
    "concat",
    "concat_ws",
    "count",
    "date",
    "date_trunc",
    "datetime",
    "dense_rank",
    "exp",
    "first_value",
    "floor",
    "greatest",
    "group_concat",
    "hex",
    "ifnull",
    "iif",
    "instr",
    "json",
    "json_agg",
    "json_array",
    "json_array_length",
    "json_build_array",
    "json_build_object",
    "json_extract",
    "json_group_array",
    "json_group_object",
    "json_object",
    "json_type",
    "json_valid",
    "jsonb_agg",
    "jsonb_array_length",
    "jsonb_build_array",
    "jsonb_build_object",
    "jsonb_typeof",
    "julianday",
    "lag",
    "last_value",
    "lead",
    "least",
    "left",
    "length",
    "ln",
    "log",
    "lower",
    "lpad",
    "ltrim",
    "max",
    "min",
    "mod",
    "now",
    "ntile",
    "nullif",
    "octet_length",
    "position",
    "power",
    "rank",
    "repeat",
    "replace",
    "reverse",
    "right",
    "round",
    "row_number",
    "rpad",
    "rtrim",
    "sign",
    "split_part",
    "sqrt",
    "starts_with",
    "strftime",
    "string_agg",
    "strpos",
    "substr",
    "substring",
    "sum",
    "time",
    "to_char",
    "to_json",
    "to_jsonb",
    "to_timestamp",
    "total",
    "trim",
    "trunc",
    "typeof",
    "unicode",
    "unixepoch",
    "upper",
];

/// The functions an expression or statement calls, refused unless known to read no table.
#[derive(Default)]
pub(super) struct Calls {
    pub(super) errors: Vec<String>,
    pub(super) relations: usize,
}

impl Visitor for Calls {
    type Break = ();

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if let Expr::Function(f) = expr {
            let name = last(&f.name).unwrap_or_default();
            if f.name.0.len() != 1 || !FUNCTIONS.contains(&name.as_str()) {
                self.errors.push(format!(
                    "`{}` is not a function sql! knows to read no table; in a crate with owned tables a template calls only those: {}",
                    f.name,
                    FUNCTIONS.join(", ")
                ));
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, _: &ObjectName) -> ControlFlow<()> {
        self.relations += 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        // A table, a subquery, a join, or a function known to read no table (PostgreSQL's
        // `query_to_xml` in a FROM reads a table named in a string).
        let function = match factor {
            TableFactor::Table { args: None, .. }
            | TableFactor::Derived { .. }
            | TableFactor::NestedJoin { .. }
            | TableFactor::UNNEST { .. } => return ControlFlow::Continue(()),
            TableFactor::Table {
                name,
                args: Some(_),
                ..
            }
            | TableFactor::Function { name, .. } => Some(name),
            _ => None,
        };
        let known = function.is_some_and(|name| {
            name.0.len() == 1 && TABLE_FUNCTIONS.contains(&last(name).unwrap_or_default().as_str())
        });
        if !known {
            self.errors.push(format!(
                "`{factor}` is not a FROM item sql! knows to read no table; in a crate with owned tables a FROM holds tables, subqueries, joins, UNNEST and {}",
                TABLE_FUNCTIONS.join(", ")
            ));
        }
        ControlFlow::Continue(())
    }
}

/// Set-returning functions a FROM may call in a crate with owned tables: they read only their
/// arguments.
const TABLE_FUNCTIONS: &[&str] = &[
    "generate_series",
    "json_array_elements",
    "json_each",
    "json_tree",
    "jsonb_array_elements",
    "jsonb_each",
];
