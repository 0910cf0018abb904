//! SQLite's math functions (`acos`, `radians`, `pow`...), which the bundled build leaves out:
//! `geoDistance()` is written with them, and view queries written for PocketBase may use them.

use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::Connection;

use crate::error::StoreError;

/// A numeric argument as SQLite's math functions read it: NULL for NULL and for text or blobs
/// that are not numbers.
fn number(ctx: &Context<'_>, i: usize) -> Option<f64> {
    match ctx.get_raw(i) {
        ValueRef::Integer(n) => Some(n as f64),
        ValueRef::Real(f) => Some(f),
        ValueRef::Text(t) | ValueRef::Blob(t) => std::str::from_utf8(t).ok()?.trim().parse().ok(),
        ValueRef::Null => None,
    }
}

/// NaN and infinities become NULL, as in SQLite.
fn finite(f: f64) -> SqlValue {
    if f.is_finite() {
        SqlValue::Real(f)
    } else {
        SqlValue::Null
    }
}

fn unary(conn: &Connection, name: &str, f: Unary) -> Result<(), StoreError> {
    conn.create_scalar_function(name, 1, flags(), move |ctx| {
        Ok(number(ctx, 0).map_or(SqlValue::Null, |x| finite(f(x))))
    })?;
    Ok(())
}

fn binary(conn: &Connection, name: &str, f: Binary) -> Result<(), StoreError> {
    conn.create_scalar_function(name, 2, flags(), move |ctx| {
        Ok(match (number(ctx, 0), number(ctx, 1)) {
            (Some(a), Some(b)) => finite(f(a, b)),
            _ => SqlValue::Null,
        })
    })?;
    Ok(())
}

/// `ceil`, `floor` and `trunc` keep integers as they are.
fn rounding(conn: &Connection, name: &str, f: Unary) -> Result<(), StoreError> {
    conn.create_scalar_function(name, 1, flags(), move |ctx| {
        Ok(match ctx.get_raw(0) {
            ValueRef::Integer(n) => SqlValue::Integer(n),
            _ => number(ctx, 0).map_or(SqlValue::Null, |x| finite(f(x))),
        })
    })?;
    Ok(())
}

type Unary = fn(f64) -> f64;
type Binary = fn(f64, f64) -> f64;

fn flags() -> FunctionFlags {
    FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC
}

pub(crate) fn register(conn: &Connection) -> Result<(), StoreError> {
    let unaries: [(&str, Unary); 20] = [
        ("acos", f64::acos),
        ("acosh", f64::acosh),
        ("asin", f64::asin),
        ("asinh", f64::asinh),
        ("atan", f64::atan),
        ("atanh", f64::atanh),
        ("cos", f64::cos),
        ("cosh", f64::cosh),
        ("sin", f64::sin),
        ("sinh", f64::sinh),
        ("tan", f64::tan),
        ("tanh", f64::tanh),
        ("sqrt", f64::sqrt),
        ("exp", f64::exp),
        ("ln", f64::ln),
        ("log10", f64::log10),
        ("log2", f64::log2),
        ("radians", f64::to_radians),
        ("degrees", f64::to_degrees),
        ("log", f64::log10),
    ];
    for (name, f) in unaries {
        unary(conn, name, f)?;
    }
    let binaries: [(&str, Binary); 5] = [
        ("atan2", f64::atan2),
        ("pow", f64::powf),
        ("power", f64::powf),
        ("mod", |a, b| a % b),
        // log(B, X): the logarithm of X in base B.
        ("log", |b, x| x.ln() / b.ln()),
    ];
    for (name, f) in binaries {
        binary(conn, name, f)?;
    }
    for (name, f) in [
        ("ceil", f64::ceil as Unary),
        ("ceiling", f64::ceil),
        ("floor", f64::floor),
        ("trunc", f64::trunc),
    ] {
        rounding(conn, name, f)?;
    }
    conn.create_scalar_function("pi", 0, flags(), |_| Ok(std::f64::consts::PI))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn math_functions_follow_sqlite() {
        let conn = Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        let one = |sql: &str| -> SqlValue { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(
            one("SELECT radians(180)"),
            SqlValue::Real(std::f64::consts::PI)
        );
        assert_eq!(one("SELECT acos(2)"), SqlValue::Null);
        assert_eq!(one("SELECT cos(NULL)"), SqlValue::Null);
        assert_eq!(one("SELECT floor(3)"), SqlValue::Integer(3));
        assert_eq!(one("SELECT pow('2', 3)"), SqlValue::Real(8.0));
        assert_eq!(one("SELECT sqrt('x')"), SqlValue::Null);
    }
}
