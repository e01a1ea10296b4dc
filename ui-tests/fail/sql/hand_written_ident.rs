// `SqlIdent` is derived, never implemented by hand: a hand-written impl could return a caller's
// text, which `{x:ident}` splices into the SQL.
use mcp_secure::sql::{SqlIdent, sql};

struct Column(String);

impl SqlIdent for Column {}

fn main() {
    let col = Column("id\" FROM t; DROP TABLE t; --".into());
    let _ = sql!("SELECT {col:ident} FROM t");
    let _ = col.0;
}
