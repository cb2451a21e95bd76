//! The seam between the repositories and a database: the statements they run (`Db`), the
//! values they bind (`Arg`) and the values they read (`Col`).
//!
//! One SQL text serves both backends. It is written in what SQLite and PostgreSQL both
//! accept, with `$N` parameters: SQLite reads `$1` as a named parameter, so its backend
//! binds by name, and nothing rewrites SQL. The few statements the two cannot share ask
//! `Db::dialect`. The schema keeps SQLite's types on both (a flag is an integer, most JSON
//! documents are text), and values convert on PostgreSQL the way SQLite converts them, so
//! one Rust value fits both.

use super::{StoreError, Unique};

pub type Found<T> = std::result::Result<T, StoreError>;

/// Which SQL a statement that the two backends cannot share is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A value as both backends store it: SQLite's five storage classes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
}

/// A value bound to a statement's parameter.
pub trait Arg {
    fn value(&self) -> Value<'_>;
}

/// A parameter list: `args![a, b]`, in `$1`, `$2` order.
pub type Args<'a> = &'a [&'a dyn Arg];

/// Builds the `&[&dyn Arg]` a statement takes, `$1` first.
macro_rules! args {
    ($($a:expr),* $(,)?) => {
        &[$(&$a as &dyn $crate::store::db::Arg),*][..]
    };
}
pub(crate) use args;

impl Arg for i64 {
    fn value(&self) -> Value<'_> {
        Value::Int(*self)
    }
}

impl Arg for i32 {
    fn value(&self) -> Value<'_> {
        Value::Int(i64::from(*self))
    }
}

impl Arg for u32 {
    fn value(&self) -> Value<'_> {
        Value::Int(i64::from(*self))
    }
}

impl Arg for bool {
    fn value(&self) -> Value<'_> {
        Value::Int(i64::from(*self))
    }
}

impl Arg for f64 {
    fn value(&self) -> Value<'_> {
        Value::Real(*self)
    }
}

impl Arg for str {
    fn value(&self) -> Value<'_> {
        Value::Text(self)
    }
}

impl Arg for String {
    fn value(&self) -> Value<'_> {
        Value::Text(self)
    }
}

impl Arg for [u8] {
    fn value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}

impl Arg for Vec<u8> {
    fn value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}

impl<T: Arg + ?Sized> Arg for &T {
    fn value(&self) -> Value<'_> {
        (**self).value()
    }
}

impl<T: Arg> Arg for Option<T> {
    fn value(&self) -> Value<'_> {
        match self {
            Some(v) => v.value(),
            None => Value::Null,
        }
    }
}

/// An owned parameter, for statements whose parameters are gathered at run time.
#[derive(Debug, Clone, PartialEq)]
pub enum Owned {
    Int(i64),
    Text(String),
}

impl Arg for Owned {
    fn value(&self) -> Value<'_> {
        match self {
            Owned::Int(i) => Value::Int(*i),
            Owned::Text(s) => Value::Text(s),
        }
    }
}

impl From<String> for Owned {
    fn from(s: String) -> Self {
        Owned::Text(s)
    }
}

impl From<&str> for Owned {
    fn from(s: &str) -> Self {
        Owned::Text(s.to_string())
    }
}

impl From<i64> for Owned {
    fn from(i: i64) -> Self {
        Owned::Int(i)
    }
}

impl From<bool> for Owned {
    fn from(b: bool) -> Self {
        Owned::Int(i64::from(b))
    }
}

/// A column read from a row: by position (what listings use: a name lookup cost more
/// than the rest of a listing) or by name.
#[derive(Debug, Clone, Copy)]
pub enum Index<'a> {
    At(usize),
    Named(&'a str),
}

impl From<usize> for Index<'_> {
    fn from(i: usize) -> Self {
        Index::At(i)
    }
}

impl<'a> From<&'a str> for Index<'a> {
    fn from(n: &'a str) -> Self {
        Index::Named(n)
    }
}

impl std::fmt::Display for Index<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Index::At(i) => write!(f, "column {i}"),
            Index::Named(n) => write!(f, "column {n}"),
        }
    }
}

/// A row a statement answered.
pub enum Row<'a> {
    Sqlite(&'a rusqlite::Row<'a>),
    Postgres(&'a postgres::Row),
}

impl Row<'_> {
    pub fn get<'i, T: Col>(&self, i: impl Into<Index<'i>>) -> Found<T> {
        let i = i.into();
        self.value(i)
            .and_then(|v| T::from_value(v).map_err(|e| StoreError(format!("{i}: {e}"))))
    }

    /// The column's value as stored, whatever its type: for copying rows as they are.
    pub fn value<'i>(&self, i: impl Into<Index<'i>>) -> Found<Value<'_>> {
        let i = i.into();
        match self {
            Row::Sqlite(r) => sqlite_value(r, i),
            Row::Postgres(r) => postgres_value(r, i),
        }
    }
}

fn sqlite_value<'r>(r: &'r rusqlite::Row<'_>, i: Index<'_>) -> Found<Value<'r>> {
    use rusqlite::types::ValueRef;
    let v = match i {
        Index::At(n) => r.get_ref(n),
        Index::Named(n) => r.get_ref(n),
    }
    .map_err(|e| StoreError(format!("database: {e}")))?;
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(n) => Value::Int(n),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => {
            Value::Text(std::str::from_utf8(t).map_err(|e| StoreError(format!("{i}: {e}")))?)
        }
        ValueRef::Blob(b) => Value::Blob(b),
    })
}

fn postgres_value<'r>(r: &'r postgres::Row, i: Index<'_>) -> Found<Value<'r>> {
    let at = match i {
        Index::At(n) => n,
        Index::Named(n) => r
            .columns()
            .iter()
            .position(|c| c.name() == n)
            .ok_or_else(|| StoreError(format!("database: no {i}")))?,
    };
    let v: Loose<'r> = r
        .try_get(at)
        .map_err(|e| StoreError(format!("database: {i}: {e}")))?;
    Ok(v.0)
}

/// A PostgreSQL value read the way SQLite would answer it: a boolean is the integer 0 or
/// 1, a JSON document its text.
struct Loose<'a>(Value<'a>);

impl<'a> postgres::types::FromSql<'a> for Loose<'a> {
    fn from_sql(
        ty: &postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        use postgres::types::Type;
        let v = match *ty {
            Type::BOOL => Value::Int(i64::from(bool::from_sql(ty, raw)?)),
            Type::INT2 => Value::Int(i64::from(i16::from_sql(ty, raw)?)),
            Type::INT4 => Value::Int(i64::from(i32::from_sql(ty, raw)?)),
            Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
            Type::FLOAT4 => Value::Real(f64::from(f32::from_sql(ty, raw)?)),
            Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
            Type::BYTEA => Value::Blob(raw),
            // JSONB's binary form is a version byte, then the text.
            Type::JSONB => match raw.split_first() {
                Some((1, text)) => Value::Text(std::str::from_utf8(text)?),
                _ => return Err("unknown jsonb version".into()),
            },
            _ => Value::Text(<&str>::from_sql(ty, raw)?),
        };
        Ok(Loose(v))
    }

    fn from_sql_null(
        _: &postgres::types::Type,
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Loose(Value::Null))
    }

    fn accepts(ty: &postgres::types::Type) -> bool {
        use postgres::types::Type;
        // NUMERIC (what `sum()` of integers is) has no Rust value here: the SQL casts it.
        *ty != Type::NUMERIC
    }
}

/// Binds a value to a PostgreSQL parameter of whatever type the statement gave it, as
/// SQLite would store it there: 0 or 1 in a boolean, text in a JSON document.
pub struct PgArg<'a>(pub Value<'a>);

impl std::fmt::Debug for PgArg<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl postgres::types::ToSql for PgArg<'_> {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        use postgres::types::{IsNull, Type};
        match (self.0, ty) {
            (Value::Null, _) => Ok(IsNull::Yes),
            (Value::Int(n), &Type::BOOL) => (n != 0).to_sql(ty, out),
            (Value::Int(n), &Type::INT4) => i32::try_from(n)?.to_sql(ty, out),
            (Value::Int(n), &Type::INT2) => i16::try_from(n)?.to_sql(ty, out),
            (Value::Int(n), &Type::FLOAT8) => (n as f64).to_sql(ty, out),
            (Value::Int(n), &Type::TEXT) => n.to_string().to_sql(ty, out),
            (Value::Int(n), _) => n.to_sql(ty, out),
            (Value::Real(f), _) => f.to_sql(ty, out),
            (Value::Text(s), &Type::JSONB) => {
                out.extend_from_slice(&[1]);
                out.extend_from_slice(s.as_bytes());
                Ok(IsNull::No)
            }
            (Value::Text(s), &Type::INT8) => s.parse::<i64>()?.to_sql(ty, out),
            (Value::Text(s), _) => s.to_sql(ty, out),
            (Value::Blob(b), _) => b.to_sql(ty, out),
        }
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

impl rusqlite::ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match *self {
            Value::Null => ValueRef::Null,
            Value::Int(n) => ValueRef::Integer(n),
            Value::Real(f) => ValueRef::Real(f),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

/// A Rust value read from a column, converted as SQLite converts it.
pub trait Col: Sized {
    fn from_value(v: Value<'_>) -> Result<Self, String>;
}

fn wrong(want: &str, v: Value<'_>) -> String {
    let got = match v {
        Value::Null => "NULL",
        Value::Int(_) => "an integer",
        Value::Real(_) => "a real",
        Value::Text(_) => "text",
        Value::Blob(_) => "a blob",
    };
    format!("{want} expected, {got} found")
}

impl Col for i64 {
    fn from_value(v: Value<'_>) -> Result<Self, String> {
        match v {
            Value::Int(n) => Ok(n),
            v => Err(wrong("an integer", v)),
        }
    }
}

impl Col for i32 {
    fn from_value(v: Value<'_>) -> Result<Self, String> {
        i32::try_from(i64::from_value(v)?).map_err(|e| e.to_string())
    }
}

impl Col for u32 {
    fn from_value(v: Value<'_>) -> Result<Self, String> {
        u32::try_from(i64::from_value(v)?).map_err(|e| e.to_string())
    }
}

impl Col for u64 {
    fn from_value(v: Value<'_>) -> Result<Self, String> {
        u64::try_from(i64::from_value(v)?).map_err(|e| e.to_string())
    }
}

impl Col for bool {
    fn from_value(v: Value<'_>) -> Result<Self, String> {
        Ok(i64::from_value(v)? != 0)
    }
}

impl Col for f64 {
    fn from_value(v: Value<'_>) -> Result<Self, String> {
        match v {
            Value::Real(f) => Ok(f),
            Value::Int(n) => Ok(n as f64),
            v => Err(wrong("a real", v)),
        }
    }
}

impl Col for String {
    fn from_value(v: Value<'_>) -> Result<Self, String> {
        match v {
            Value::Text(s) => Ok(s.to_string()),
            v => Err(wrong("text", v)),
        }
    }
}

impl Col for Vec<u8> {
    fn from_value(v: Value<'_>) -> Result<Self, String> {
        match v {
            Value::Blob(b) => Ok(b.to_vec()),
            Value::Text(s) => Ok(s.as_bytes().to_vec()),
            v => Err(wrong("a blob", v)),
        }
    }
}

impl<T: Col> Col for Option<T> {
    fn from_value(v: Value<'_>) -> Result<Self, String> {
        match v {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

/// A subquery answering the elements of the JSON array of strings bound to `$1`: a list
/// of ids in one parameter, so no SQL is built from ids.
pub fn json_elements(d: Dialect) -> &'static str {
    match d {
        Dialect::Sqlite => "SELECT value FROM json_each($1)",
        Dialect::Postgres => "SELECT value FROM json_array_elements_text(CAST($1 AS json))",
    }
}

/// `doc` (a JSON column) with `key` set to the JSON document bound to `param`.
pub fn json_set(d: Dialect, doc: &str, key: &str, param: &str) -> String {
    match d {
        Dialect::Sqlite => format!("json_set({doc}, '$.{key}', json({param}))"),
        Dialect::Postgres => format!("jsonb_set({doc}, '{{{key}}}', CAST({param} AS jsonb))"),
    }
}

/// The statements every repository method is made of. A backend's transaction fills it,
/// and every repository trait is filled for every `Db` (`impl<D: Db + ?Sized> … for D`).
pub trait Db {
    fn dialect(&self) -> Dialect;
    /// The folder the store keeps its files in (images, volumes), shared by every host.
    fn data_dir(&self) -> std::path::PathBuf;
    /// An INSERT or UPDATE that may hit a unique name.
    fn unique(&self, sql: &str, p: Args) -> Found<Unique>;
    fn one<T>(&self, sql: &str, p: Args, row: impl FnOnce(&Row) -> Found<T>) -> Found<Option<T>>;
    fn all<T>(&self, sql: &str, p: Args, row: impl FnMut(&Row) -> Found<T>) -> Found<Vec<T>>;
    /// How many rows changed.
    fn run(&self, sql: &str, p: Args) -> Found<usize>;

    fn count(&self, sql: &str, p: Args) -> Found<u64> {
        let n: Option<i64> = self.one(sql, p, |r| r.get(0))?;
        Ok(n.unwrap_or(0).max(0) as u64)
    }

    /// The id an `INSERT … RETURNING id` gave its row.
    fn returning(&self, sql: &str, p: Args) -> Found<i64> {
        self.one(sql, p, |r| r.get(0))?
            .ok_or_else(|| StoreError(format!("no row returned: {sql}")))
    }

    /// What a `SELECT EXISTS (…)` answers.
    fn exists(&self, sql: &str, p: Args) -> Found<bool> {
        Ok(self.one(sql, p, |r| r.get(0))?.unwrap_or(false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_reads_a_flag_as_an_integer_and_json_as_text() {
        assert!(bool::from_value(Value::Int(1)).unwrap());
        assert!(!bool::from_value(Value::Int(0)).unwrap());
        assert_eq!(f64::from_value(Value::Int(2)).unwrap(), 2.0);
        assert_eq!(
            Option::<String>::from_value(Value::Null).unwrap(),
            None::<String>
        );
        assert!(String::from_value(Value::Int(1)).is_err());
        assert!(u32::from_value(Value::Int(-1)).is_err());
    }
}
