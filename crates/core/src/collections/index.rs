//! Parses the `indexes` statements a collection carries and rebuilds them from their parts, so no
//! client text ever reaches the database as SQL.

use motorbase_store::{IndexColumn, IndexDef};

/// Splits `CREATE [UNIQUE] INDEX [IF NOT EXISTS] name ON table (col [COLLATE NOCASE] [ASC|DESC], ...)
/// [WHERE col != '']` into tokens, unquoting backticks, double quotes and brackets.
fn tokens(sql: &str) -> Option<Vec<String>> {
    let mut out = vec![];
    let mut chars = sql.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | ',' => {
                out.push(c.to_string());
                chars.next();
            }
            '`' | '"' | '[' => {
                let close = if c == '[' { ']' } else { c };
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next()? {
                        ch if ch == close => break,
                        ch => s.push(ch),
                    }
                }
                out.push(s);
            }
            '\'' => {
                chars.next();
                let mut s = String::from("'");
                loop {
                    match chars.next()? {
                        '\'' => break,
                        ch => s.push(ch),
                    }
                }
                s.push('\'');
                out.push(s);
            }
            '!' | '=' => {
                let mut s = String::new();
                while let Some(&ch) = chars.peek() {
                    if ch == '!' || ch == '=' {
                        s.push(ch);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(s);
            }
            _ => {
                let mut s = String::new();
                while let Some(&ch) = chars.peek() {
                    if ch.is_alphanumeric() || ch == '_' {
                        s.push(ch);
                        chars.next();
                    } else {
                        break;
                    }
                }
                if s.is_empty() {
                    return None;
                }
                out.push(s);
            }
        }
    }
    Some(out)
}

/// Parses an index statement for `table`; `Err` carries a short reason.
pub fn parse_index(sql: &str) -> Result<IndexDef, String> {
    let t = tokens(sql.trim().trim_end_matches(';')).ok_or("invalid index statement")?;
    let mut i = 0;
    let kw = |i: usize, w: &str| t.get(i).is_some_and(|s| s.eq_ignore_ascii_case(w));
    if !kw(0, "CREATE") {
        return Err("an index must start with CREATE".into());
    }
    i += 1;
    let unique = kw(i, "UNIQUE");
    if unique {
        i += 1;
    }
    if !kw(i, "INDEX") {
        return Err("expected INDEX".into());
    }
    i += 1;
    if kw(i, "IF") && kw(i + 1, "NOT") && kw(i + 2, "EXISTS") {
        i += 3;
    }
    let name = t.get(i).ok_or("missing index name")?.clone();
    i += 1;
    if !kw(i, "ON") {
        return Err("expected ON".into());
    }
    let table = t.get(i + 1).ok_or("missing table name")?.clone();
    i += 2;
    if t.get(i).map(String::as_str) != Some("(") {
        return Err("expected a column list".into());
    }
    i += 1;
    let mut columns = vec![];
    loop {
        let name = t.get(i).ok_or("unterminated column list")?.clone();
        i += 1;
        let mut col = IndexColumn {
            name,
            desc: false,
            nocase: false,
        };
        loop {
            if kw(i, "COLLATE") && kw(i + 1, "NOCASE") {
                col.nocase = true;
                i += 2;
            } else if kw(i, "ASC") {
                i += 1;
            } else if kw(i, "DESC") {
                col.desc = true;
                i += 1;
            } else {
                break;
            }
        }
        columns.push(col);
        match t.get(i).map(String::as_str) {
            Some(",") => i += 1,
            Some(")") => {
                i += 1;
                break;
            }
            _ => return Err("invalid column list".into()),
        }
    }
    let mut where_not_empty = None;
    if kw(i, "WHERE") {
        let col = t.get(i + 1).ok_or("invalid WHERE")?.clone();
        if t.get(i + 2).map(String::as_str) != Some("!=")
            || t.get(i + 3).map(String::as_str) != Some("''")
        {
            return Err("only a `WHERE column != ''` condition is supported".into());
        }
        where_not_empty = Some(col);
        i += 4;
    }
    if i != t.len() {
        return Err("unexpected text after the index definition".into());
    }
    Ok(IndexDef {
        name,
        unique,
        table,
        columns,
        where_not_empty,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pocketbase_default_indexes() {
        let ix = parse_index("CREATE UNIQUE INDEX `idx_email__pb_users_auth_` ON `users` (`email`) WHERE `email` != ''").unwrap();
        assert!(ix.unique);
        assert_eq!(ix.name, "idx_email__pb_users_auth_");
        assert_eq!(ix.table, "users");
        assert_eq!(ix.columns[0].name, "email");
        assert_eq!(ix.where_not_empty.as_deref(), Some("email"));
    }

    #[test]
    fn parses_multi_column_and_order() {
        let ix =
            parse_index("create index idx_a on posts (title COLLATE NOCASE, views DESC)").unwrap();
        assert!(!ix.unique);
        assert_eq!(ix.columns.len(), 2);
        assert!(ix.columns[0].nocase);
        assert!(ix.columns[1].desc);
    }

    #[test]
    fn refuses_other_statements() {
        for bad in [
            "DROP TABLE users",
            "CREATE INDEX x ON t (a); DROP TABLE t",
            "CREATE INDEX x ON t (a) WHERE 1=1",
            "CREATE INDEX x ON t a",
        ] {
            assert!(parse_index(bad).is_err(), "{bad}");
        }
    }
}
