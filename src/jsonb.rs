//! jsonb arguments and results as JSON text. pgrx's `JsonB` panics (XX000) on numbers serde
//! cannot hold, such as 1e400; taking the text lets every function report bad input its own way.

use parmana_core::govern::RowValue;
use pgrx::callconv::{Arg, ArgAbi, BoxRet, FcInfo};
use pgrx::datum::Datum;
use pgrx::pg_sys;
use pgrx::pgrx_sql_entity_graph::metadata::{
    ArgumentError, ReturnsError, ReturnsRef, SqlMappingRef, SqlTranslatable, TypeOrigin,
};
use pgrx::{direct_function_call, direct_function_call_as_datum, FromDatum, IntoDatum};
use std::collections::HashMap;
use std::ffi::{CStr, CString};

/// A jsonb value as its JSON text.
#[derive(Debug, Clone)]
pub struct JsonbText(pub String);

impl JsonbText {
    pub fn from_value(v: &serde_json::Value) -> JsonbText {
        JsonbText(v.to_string())
    }
}

impl FromDatum for JsonbText {
    unsafe fn from_polymorphic_datum(datum: pg_sys::Datum, is_null: bool, _: pg_sys::Oid) -> Option<JsonbText> {
        if is_null {
            return None;
        }
        unsafe {
            let varlena = datum.cast_mut_ptr::<pg_sys::varlena>();
            let detoasted = pg_sys::pg_detoast_datum_packed(varlena);
            let cstr = direct_function_call::<&CStr>(pg_sys::jsonb_out, &[Some(pg_sys::Datum::from(detoasted))])
                .expect("jsonb_out returns a string");
            // jsonb text is always valid UTF-8 in a UTF-8 database; lossless otherwise too.
            let text = cstr.to_string_lossy().into_owned();
            pg_sys::pfree(cstr.as_ptr() as *mut std::ffi::c_void);
            if detoasted != varlena {
                pg_sys::pfree(detoasted as *mut std::ffi::c_void);
            }
            Some(JsonbText(text))
        }
    }
}

impl IntoDatum for JsonbText {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        let cstring = CString::new(self.0).expect("JSON text produced by serde contains no NUL");
        unsafe { direct_function_call_as_datum(pg_sys::jsonb_in, &[Some(cstring.as_ptr().into())]) }
    }

    fn type_oid() -> pg_sys::Oid {
        pg_sys::JSONBOID
    }
}

/// A jsonb value built once from JSON text, then stored and returned without parsing the text
/// again. Lives in the memory context current when it was built: build it outside SPI sessions.
#[derive(Clone, Copy)]
pub struct JsonbDatum(pg_sys::Datum);

impl JsonbDatum {
    pub fn from_text(text: String) -> JsonbDatum {
        JsonbDatum(JsonbText(text).into_datum().expect("jsonb_in returns a datum"))
    }
}

impl IntoDatum for JsonbDatum {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        Some(self.0)
    }

    fn type_oid() -> pg_sys::Oid {
        pg_sys::JSONBOID
    }
}

/// A jsonb argument read straight from its binary form — no `jsonb_out` text, no re-parse. Used
/// where throughput matters (verification). A document deeper than 127 levels, or with a number
/// outside the double range, is an `Err` for the caller to report, never a panic.
pub struct JsonbParsed(pub Result<serde_json::Value, &'static str>);

/// The deepest nesting accepted: serde_json's limit for JSON text (127 levels), so a document reads
/// the same from jsonb's binary form as from its text.
const MAX_DEPTH: usize = 127;

impl FromDatum for JsonbParsed {
    unsafe fn from_polymorphic_datum(datum: pg_sys::Datum, is_null: bool, _: pg_sys::Oid) -> Option<JsonbParsed> {
        if is_null {
            return None;
        }
        unsafe {
            let stored = datum.cast_mut_ptr::<pg_sys::varlena>();
            let jsonb = pg_sys::pg_detoast_datum(stored) as *mut pg_sys::Jsonb;
            let parsed = read_container(&mut (*jsonb).root);
            // Callers read many rows in one memory context: free a detoasted copy now.
            if jsonb as *mut pg_sys::varlena != stored {
                pg_sys::pfree(jsonb as *mut std::ffi::c_void);
            }
            Some(JsonbParsed(parsed))
        }
    }
}

/// pgrx's SPI row reader needs both directions; an unreadable document becomes NULL.
impl IntoDatum for JsonbParsed {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        self.0.ok().and_then(|value| JsonbText::from_value(&value).into_datum())
    }

    fn type_oid() -> pg_sys::Oid {
        pg_sys::JSONBOID
    }
}

/// A row as `to_jsonb(row)` writes it, read from jsonb's binary form: column name to value, with
/// numbers kept as their exact decimal text (`numeric_out`), so rounding and keys stay exact.
pub struct JsonbRow(pub Result<HashMap<String, RowValue>, &'static str>);

impl FromDatum for JsonbRow {
    unsafe fn from_polymorphic_datum(datum: pg_sys::Datum, is_null: bool, _: pg_sys::Oid) -> Option<JsonbRow> {
        if is_null {
            return None;
        }
        unsafe {
            let stored = datum.cast_mut_ptr::<pg_sys::varlena>();
            let jsonb = pg_sys::pg_detoast_datum(stored) as *mut pg_sys::Jsonb;
            let row = read_row(&mut (*jsonb).root);
            if jsonb as *mut pg_sys::varlena != stored {
                pg_sys::pfree(jsonb as *mut std::ffi::c_void);
            }
            Some(JsonbRow(row))
        }
    }
}

/// pgrx's SPI row reader needs both directions; a row is only ever read.
impl IntoDatum for JsonbRow {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        None
    }

    fn type_oid() -> pg_sys::Oid {
        pg_sys::JSONBOID
    }
}

/// The top level of a jsonb object, one entry per key; nested containers become serde values.
unsafe fn read_row(root: *mut pg_sys::JsonbContainer) -> Result<HashMap<String, RowValue>, &'static str> {
    use pg_sys::JsonbIteratorToken::*;
    let mut it = unsafe { pg_sys::JsonbIteratorInit(root) };
    let mut v: pg_sys::JsonbValue = unsafe { std::mem::zeroed() };
    let mut row = HashMap::new();
    let mut key = None;
    if unsafe { pg_sys::JsonbIteratorNext(&mut it, &mut v, true) } != WJB_BEGIN_OBJECT {
        return Err("not a JSON object");
    }
    loop {
        match unsafe { pg_sys::JsonbIteratorNext(&mut it, &mut v, true) } {
            WJB_KEY => match unsafe { scalar(&v)? } {
                serde_json::Value::String(k) => key = Some(k),
                _ => return Err("non-string key"),
            },
            WJB_VALUE => {
                let value = match v.type_ {
                    pg_sys::jbvType::jbvNumeric => RowValue::Number(unsafe { numeric_text(&v)? }),
                    pg_sys::jbvType::jbvBinary => RowValue::Json(unsafe { read_container(v.val.binary.data)? }),
                    _ => match unsafe { scalar(&v)? } {
                        serde_json::Value::Null => RowValue::Null,
                        serde_json::Value::Bool(b) => RowValue::Bool(b),
                        serde_json::Value::String(s) => RowValue::Text(s),
                        other => RowValue::Json(other),
                    },
                };
                row.insert(key.take().ok_or("value without a key")?, value);
            }
            WJB_END_OBJECT => return Ok(row),
            _ => return Err("unexpected jsonb token"),
        }
    }
}

/// The exact decimal text of a jsonb numeric.
unsafe fn numeric_text(v: &pg_sys::JsonbValue) -> Result<String, &'static str> {
    unsafe {
        let text = direct_function_call::<&CStr>(pg_sys::numeric_out, &[Some(pg_sys::Datum::from(v.val.numeric))])
            .ok_or("numeric_out failed")?;
        let owned = text.to_str().map_err(|_| "number")?.to_owned();
        pg_sys::pfree(text.as_ptr() as *mut std::ffi::c_void);
        Ok(owned)
    }
}

/// Walk a jsonb container with PostgreSQL's iterator into a serde value.
unsafe fn read_container(root: *mut pg_sys::JsonbContainer) -> Result<serde_json::Value, &'static str> {
    use pg_sys::JsonbIteratorToken::*;
    use serde_json::{Map, Value};
    let mut it = unsafe { pg_sys::JsonbIteratorInit(root) };
    let mut v: pg_sys::JsonbValue = unsafe { std::mem::zeroed() };
    // Open containers, each with the key waiting for its value and whether it wraps a raw scalar.
    let mut stack: Vec<(Value, Option<String>, bool)> = Vec::new();
    loop {
        let token = unsafe { pg_sys::JsonbIteratorNext(&mut it, &mut v, false) };
        let finished = match token {
            WJB_DONE => return Err("empty jsonb"),
            WJB_BEGIN_ARRAY | WJB_BEGIN_OBJECT => {
                if stack.len() >= MAX_DEPTH {
                    return Err("document nested deeper than 127 levels");
                }
                let raw = token == WJB_BEGIN_ARRAY && unsafe { v.val.array.rawScalar };
                let container =
                    if token == WJB_BEGIN_ARRAY { Value::Array(Vec::new()) } else { Value::Object(Map::new()) };
                stack.push((container, None, raw));
                continue;
            }
            WJB_KEY => {
                let key = unsafe { scalar(&v)? };
                let Value::String(key) = key else { return Err("non-string key") };
                stack.last_mut().ok_or("key outside an object")?.1 = Some(key);
                continue;
            }
            WJB_VALUE | WJB_ELEM => unsafe { scalar(&v)? },
            WJB_END_ARRAY | WJB_END_OBJECT => {
                let (container, _, raw) = stack.pop().ok_or("unbalanced jsonb")?;
                match (raw, container) {
                    (true, Value::Array(mut items)) if items.len() == 1 => items.pop().expect("one"),
                    (_, container) => container,
                }
            }
            _ => return Err("unexpected jsonb token"),
        };
        match stack.last_mut() {
            None => return Ok(finished),
            Some((Value::Array(items), _, _)) => items.push(finished),
            Some((Value::Object(map), key, _)) => {
                map.insert(key.take().ok_or("value without a key")?, finished);
            }
            Some(_) => return Err("unexpected jsonb container"),
        }
    }
}

unsafe fn scalar(v: &pg_sys::JsonbValue) -> Result<serde_json::Value, &'static str> {
    use serde_json::Value;
    Ok(match v.type_ {
        pg_sys::jbvType::jbvNull => Value::Null,
        pg_sys::jbvType::jbvBool => Value::Bool(unsafe { v.val.boolean }),
        pg_sys::jbvType::jbvString => {
            let s = unsafe { v.val.string };
            let bytes = unsafe { std::slice::from_raw_parts(s.val as *const u8, s.len as usize) };
            Value::String(std::str::from_utf8(bytes).map_err(|_| "string is not UTF-8")?.to_owned())
        }
        pg_sys::jbvType::jbvNumeric => serde_json::from_str::<Value>(&unsafe { numeric_text(v)? })
            .map_err(|_| "a number outside the IEEE-754 double range")?,
        _ => return Err("unsupported jsonb value"),
    })
}

/// A jsonb result: bytes built once per backend and copied out, or JSON text.
pub enum JsonbResult {
    Cached(&'static [u8]),
    Text(String),
}

impl JsonbResult {
    /// The jsonb bytes of `text`, kept for the life of the backend.
    pub fn cache(text: &str) -> &'static [u8] {
        let datum = JsonbDatum::from_text(text.to_owned()).0;
        unsafe {
            let varlena = datum.cast_mut_ptr::<pg_sys::varlena>();
            let len = pgrx::varsize_any(varlena);
            Box::leak(std::slice::from_raw_parts(varlena as *const u8, len).to_vec().into_boxed_slice())
        }
    }
}

impl IntoDatum for JsonbResult {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        match self {
            JsonbResult::Cached(bytes) => unsafe {
                let copy = pg_sys::palloc(bytes.len()) as *mut u8;
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), copy, bytes.len());
                Some(pg_sys::Datum::from(copy))
            },
            JsonbResult::Text(text) => JsonbText(text).into_datum(),
        }
    }

    fn type_oid() -> pg_sys::Oid {
        pg_sys::JSONBOID
    }
}

/// Every wrapper is `jsonb` in SQL.
macro_rules! sql_type_jsonb {
    ($($wrapper:ident),*) => {$(
        unsafe impl SqlTranslatable for $wrapper {
            const TYPE_IDENT: &'static str = pgrx::pgrx_resolved_type!($wrapper);
            const TYPE_ORIGIN: TypeOrigin = TypeOrigin::External;
            const ARGUMENT_SQL: Result<SqlMappingRef, ArgumentError> = Ok(SqlMappingRef::literal("jsonb"));
            const RETURN_SQL: Result<ReturnsRef, ReturnsError> = Ok(ReturnsRef::One(SqlMappingRef::literal("jsonb")));
        }
    )*};
}
sql_type_jsonb!(JsonbText, JsonbDatum, JsonbParsed, JsonbResult, JsonbRow);

/// Wrappers taken as arguments, through their `FromDatum` (functions take `Option<_>` for NULL).
macro_rules! jsonb_argument {
    ($($wrapper:ident),*) => {$(
        unsafe impl<'fcx> ArgAbi<'fcx> for $wrapper {
            unsafe fn unbox_arg_unchecked(arg: Arg<'_, 'fcx>) -> Self {
                let index = arg.index();
                unsafe {
                    arg.unbox_arg_using_from_datum().unwrap_or_else(|| panic!("argument {index} must not be null"))
                }
            }
        }
    )*};
}
jsonb_argument!(JsonbText, JsonbParsed, JsonbRow);

/// Wrappers returned as results, through their `IntoDatum`.
macro_rules! jsonb_result {
    ($($wrapper:ident),*) => {$(
        unsafe impl BoxRet for $wrapper {
            unsafe fn box_into<'fcx>(self, fcinfo: &mut FcInfo<'fcx>) -> Datum<'fcx> {
                match self.into_datum() {
                    Some(datum) => unsafe { fcinfo.return_raw_datum(datum) },
                    None => fcinfo.return_null(),
                }
            }
        }
    )*};
}
jsonb_result!(JsonbText, JsonbDatum, JsonbResult);
