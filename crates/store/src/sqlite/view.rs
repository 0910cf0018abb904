//! View collections' queries: a superuser's SELECT, checked and run under an authorizer that
//! allows reading only (no ATTACH, PRAGMA or writes), and never more than one statement.

use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::Connection;

use super::render::quote;
use crate::error::StoreError;

/// One column of a view query, as SQLite describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewColumn {
    pub name: String,
    /// The declared type of the column it reads, when it reads one directly (`TEXT`...).
    pub decl_type: Option<String>,
}

/// Allows reading (tables, functions, recursive queries); refuses everything else, PRAGMA,
/// ATTACH and every kind of write included.
pub(crate) fn read_only(ctx: AuthContext<'_>) -> Authorization {
    match ctx.action {
        // PRAGMAs read as table-valued functions (`pragma_table_info(...)`) count as PRAGMAs.
        AuthAction::Read { table_name, .. }
            if table_name
                .get(..7)
                .is_some_and(|p| p.eq_ignore_ascii_case("pragma_")) =>
        {
            Authorization::Deny
        }
        AuthAction::Select | AuthAction::Read { .. } | AuthAction::Recursive => {
            Authorization::Allow
        }
        AuthAction::Function { function_name }
            if !function_name.eq_ignore_ascii_case("load_extension") =>
        {
            Authorization::Allow
        }
        _ => Authorization::Deny,
    }
}

/// Allows creating the view `name` (and the schema row that records it) besides reading.
fn create_view(name: String) -> impl FnMut(AuthContext<'_>) -> Authorization + Send + 'static {
    move |ctx| match ctx.action {
        AuthAction::CreateView { view_name } if view_name == name => Authorization::Allow,
        AuthAction::Insert { table_name } | AuthAction::Update { table_name, .. }
            if is_schema_table(table_name) =>
        {
            Authorization::Allow
        }
        _ => read_only(ctx),
    }
}

fn is_schema_table(name: &str) -> bool {
    matches!(
        name,
        "sqlite_master" | "sqlite_schema" | "sqlite_temp_master"
    )
}

/// Refuses a query that holds more than one statement (a `;` outside quotes, brackets and
/// comments, trailing ones aside). Statements are prepared one at a time besides, so text after
/// a first statement would never run.
pub(crate) fn single_statement(query: &str) -> Result<&str, StoreError> {
    let q = query
        .trim()
        .trim_matches(|c: char| c == ';' || c.is_whitespace());
    let mut chars = q.char_indices().peekable();
    let mut quote_ch: Option<char> = None;
    while let Some((_, c)) = chars.next() {
        match quote_ch {
            Some(close) => {
                if c == close {
                    quote_ch = None;
                }
            }
            None => match c {
                '\'' | '"' | '`' => quote_ch = Some(c),
                '[' => quote_ch = Some(']'),
                '-' if chars.peek().map(|(_, n)| *n) == Some('-') => {
                    for (_, n) in chars.by_ref() {
                        if n == '\n' {
                            break;
                        }
                    }
                }
                '/' if chars.peek().map(|(_, n)| *n) == Some('*') => {
                    chars.next();
                    let mut prev = ' ';
                    for (_, n) in chars.by_ref() {
                        if prev == '*' && n == '/' {
                            break;
                        }
                        prev = n;
                    }
                }
                ';' => {
                    return Err(StoreError::InvalidView(
                        "multiple statements are not supported".into(),
                    ))
                }
                _ => {}
            },
        }
    }
    if q.is_empty() {
        return Err(StoreError::InvalidView("the query is empty".into()));
    }
    Ok(q)
}

/// SQLite's refusal in the words PocketBase's driver uses (`SQL logic error: ... (1)`).
fn invalid(e: rusqlite::Error) -> StoreError {
    let words = |code: i32, msg: &str| {
        let kind = match code {
            rusqlite::ffi::SQLITE_ERROR => "SQL logic error",
            rusqlite::ffi::SQLITE_AUTH => "authorization denied",
            _ => "SQLite error",
        };
        format!("{kind}: {msg} ({code})")
    };
    StoreError::InvalidView(match &e {
        rusqlite::Error::SqliteFailure(f, Some(msg)) => words(f.extended_code, msg),
        rusqlite::Error::SqlInputError { error, msg, .. } => words(error.extended_code, msg),
        other => other.to_string(),
    })
}

/// Runs `f` under the read-only authorizer: installed for the call on the writer's connection,
/// already there for good on a pooled reader (`guarded`).
fn with_read_only<T>(
    conn: &Connection,
    guarded: bool,
    f: impl FnOnce() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    if guarded {
        return f();
    }
    conn.authorizer(Some(read_only));
    let res = f();
    conn.authorizer(None::<fn(AuthContext<'_>) -> Authorization>);
    res
}

/// The columns `query` yields, found by preparing (not running) it under the read-only
/// authorizer.
pub(crate) fn columns(
    conn: &Connection,
    query: &str,
    guarded: bool,
) -> Result<Vec<ViewColumn>, StoreError> {
    let q = single_statement(query)?;
    with_read_only(conn, guarded, || {
        let stmt = conn
            .prepare(&format!("SELECT * FROM ({q}\n)"))
            .map_err(invalid)?;
        Ok(stmt
            .columns()
            .iter()
            .map(|c| ViewColumn {
                name: c.name().to_string(),
                decl_type: c.decl_type().map(str::to_string),
            })
            .collect())
    })
}

/// Up to `limit` rows of `query`, as its columns' raw values, run under the read-only
/// authorizer.
pub(crate) fn sample(
    conn: &Connection,
    query: &str,
    columns: &[(String, crate::query::ColumnKind)],
    limit: u64,
    guarded: bool,
) -> Result<Vec<crate::query::Row>, StoreError> {
    let q = single_statement(query)?;
    // Ids are text, whatever the query makes of them (as in the view that gets created).
    let cols = columns
        .iter()
        .map(|(c, _)| {
            quote(c).map(|q| {
                if c == "id" {
                    format!("CAST({q} AS TEXT) AS {q}")
                } else {
                    q
                }
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    with_read_only(conn, guarded, || {
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {} FROM (SELECT * FROM ({q}\n)) LIMIT {limit}",
                cols.join(", ")
            ))
            .map_err(invalid)?;
        let mut rows = stmt.query([]).map_err(invalid)?;
        let mut out = vec![];
        while let Some(row) = rows.next().map_err(invalid)? {
            let mut r = Vec::with_capacity(columns.len());
            for (i, (_, kind)) in columns.iter().enumerate() {
                r.push(super::decode(row.get_ref(i)?, *kind));
            }
            out.push(r);
        }
        Ok(out)
    })
}

/// `CREATE VIEW name AS SELECT ...`: the query is one statement, prepared under an authorizer
/// that allows this view's creation and reading only. `id_columns` (the view's columns, in
/// order) is given when its `id` column must be cast to text.
pub(crate) fn create(
    conn: &Connection,
    name: &str,
    query: &str,
    cast_id: Option<&[String]>,
) -> Result<(), StoreError> {
    let q = single_statement(query)?;
    let body = match cast_id {
        None => format!("SELECT * FROM ({q}\n)"),
        Some(columns) => {
            let cols = columns
                .iter()
                .map(|c| {
                    let qc = quote(c)?;
                    Ok(if c == "id" {
                        format!("CAST({qc} AS TEXT) AS {qc}")
                    } else {
                        qc
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            format!("SELECT {} FROM ({q}\n)", cols.join(", "))
        }
    };
    let sql = format!("CREATE VIEW {} AS {body}", quote(name)?);
    conn.authorizer(Some(create_view(name.to_string())));
    let res = conn.execute(&sql, []).map(|_| ()).map_err(invalid);
    conn.authorizer(None::<fn(AuthContext<'_>) -> Authorization>);
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE posts (id TEXT PRIMARY KEY, title TEXT, views NUMERIC);")
            .unwrap();
        conn
    }

    #[test]
    fn only_single_reading_selects_pass() {
        let conn = db();
        let cols = columns(&conn, "select id, title, count(*) as n from posts;", false).unwrap();
        assert_eq!(cols[0].name, "id");
        assert_eq!(cols[0].decl_type.as_deref(), Some("TEXT"));
        assert_eq!(cols[2].decl_type, None);
        for bad in [
            "select id from posts; delete from posts",
            "delete from posts",
            "attach database 'x.db' as x",
            "pragma table_info(posts)",
            "select * from pragma_table_info('posts')",
            "select id from posts) ; drop table posts; select (1",
            "",
        ] {
            assert!(
                matches!(columns(&conn, bad, false), Err(StoreError::InvalidView(_))),
                "{bad}"
            );
        }
        assert!(columns(&conn, "select 'a;b' as id -- trailing ; comment", false).is_ok());
        create(&conn, "v", "select id from posts", None).unwrap();
        assert!(create(
            &conn,
            "w",
            "select id from posts); drop table posts; --",
            None
        )
        .is_err());
        assert!(conn.prepare("SELECT id FROM posts").is_ok());
    }
}

#[cfg(test)]
mod pool_tests {
    use crate::error::StoreError;
    use crate::sqlite::SqliteStore;

    /// Pooled readers check view queries under their own read-only authorizer.
    #[tokio::test]
    async fn pooled_readers_refuse_pragmas_in_view_queries() {
        let dir = std::env::temp_dir().join(format!(
            "motorbase-view-test-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let store = SqliteStore::open(&dir.join("data.db"), crate::CacheSizes::DATA).unwrap();
        for _ in 0..8 {
            let cols = store
                .read(|r| r.view_columns("SELECT id FROM _collections"))
                .await
                .unwrap();
            assert_eq!(cols[0].name, "id");
            let pragma = store
                .read(|r| r.view_columns("SELECT name FROM pragma_table_info('_collections')"))
                .await;
            assert!(matches!(pragma, Err(StoreError::InvalidView(_))));
        }
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn rand_suffix() -> u128 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    }
}
