//! Reading a JSON document as far as a source's pointers reach, and no
//! further.
//!
//! SECURITY: a document parsed whole into [`Value`]s costs up to 30 times
//! its size (a 10 MiB page of small items took 1.2 GB). Here only what a
//! pointer can reach is built: the path to `select.items` and to the
//! paging pointer, and in each item the paths of its fields; the rest is
//! read past without being built. The items array keeps its first
//! [`MAX_ITEMS`], and at most [`MAX_VALUES`] values are built in all.

use std::cell::Cell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::extract::cap::MAX_ITEMS;

/// Most JSON values built from one document (about 20 MB at worst).
pub const MAX_VALUES: usize = 250_000;

/// What of a document is built: a tree of the pointers' tokens.
#[derive(Debug, Default, Clone)]
pub struct Keep {
    /// Everything below (a pointer ends here).
    whole: bool,
    /// Object keys or array indices, as pointer tokens.
    children: Vec<(String, Keep)>,
    /// This is the items array: each element is kept as this says.
    each: Option<Box<Keep>>,
}

impl Keep {
    /// The node `pointer` (RFC 6901) leads to, made as needed.
    fn at(&mut self, pointer: &str) -> &mut Keep {
        let mut node = self;
        let Some(path) = pointer.strip_prefix('/') else {
            return node;
        };
        for raw in path.split('/') {
            let token = raw.replace("~1", "/").replace("~0", "~");
            let i = match node.children.iter().position(|(k, _)| *k == token) {
                Some(i) => i,
                None => {
                    node.children.push((token, Keep::default()));
                    node.children.len() - 1
                }
            };
            node = &mut node.children[i].1;
        }
        node
    }

    /// Keeps the whole value at `pointer`.
    pub fn whole(&mut self, pointer: &str) {
        self.at(pointer).whole = true;
    }

    /// Marks `pointer` as the items array, each item kept as `each` says.
    pub fn items(&mut self, pointer: &str, each: Keep) {
        self.at(pointer).each = Some(Box::new(each));
    }

    fn child(&self, token: &str) -> Option<&Keep> {
        self.children
            .iter()
            .find_map(|(k, node)| (k == token).then_some(node))
    }
}

/// A document read through a [`Keep`].
#[derive(Debug)]
pub struct Pruned {
    pub value: Value,
    /// Items or values were left out by the bounds.
    pub capped: bool,
}

/// Parses `body` (already checked for depth), building what `keep` asks.
pub fn parse(body: &[u8], keep: &Keep) -> serde_json::Result<Pruned> {
    let state = State {
        left: Cell::new(MAX_VALUES),
        capped: Cell::new(false),
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = Seed {
        keep: Some(keep),
        state: &state,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(Pruned {
        value,
        capped: state.capped.get(),
    })
}

struct State {
    left: Cell<usize>,
    capped: Cell<bool>,
}

impl State {
    /// Takes one value from the budget; `false` when it is spent.
    fn take(&self) -> bool {
        match self.left.get() {
            0 => {
                self.capped.set(true);
                false
            }
            n => {
                self.left.set(n - 1);
                true
            }
        }
    }

    fn spent(&self) -> bool {
        self.left.get() == 0
    }
}

/// One value, kept as `keep` says (`None`: all of it).
#[derive(Clone, Copy)]
struct Seed<'a> {
    keep: Option<&'a Keep>,
    state: &'a State,
}

impl<'a> Seed<'a> {
    fn below(self, keep: Option<&'a Keep>) -> Seed<'a> {
        Seed {
            keep,
            state: self.state,
        }
    }

    /// Whether everything below is kept.
    fn all(&self) -> bool {
        self.keep.is_none_or(|k| k.whole)
    }

    fn scalar(&self, v: Value) -> Value {
        if self.state.take() {
            v
        } else {
            Value::Null
        }
    }
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

fn drain<'de, A: SeqAccess<'de>>(seq: &mut A) -> Result<bool, A::Error> {
    let mut any = false;
    while seq.next_element::<IgnoredAny>()?.is_some() {
        any = true;
    }
    Ok(any)
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(self.scalar(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(self.scalar(Value::Number(v.into())))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(self.scalar(Value::Number(v.into())))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(self.scalar(Number::from_f64(v).map_or(Value::Null, Value::Number)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(if self.state.take() {
            Value::String(v.to_string())
        } else {
            Value::Null
        })
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(self.scalar(Value::String(v)))
    }
    // A null costs what any value does where it is kept.
    fn visit_unit<E>(self) -> Result<Value, E> {
        self.state.take();
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        self.state.take();
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        if !self.state.take() {
            drain(&mut seq)?;
            return Ok(Value::Null);
        }
        let mut out = Vec::new();
        // The items array is capped even where a pointer (the paging one,
        // say) asks for it whole.
        if let Some(each) = self.keep.and_then(|k| k.each.as_deref()) {
            while out.len() < MAX_ITEMS {
                match seq.next_element_seed(self.below(Some(each)))? {
                    Some(v) => out.push(v),
                    None => return Ok(Value::Array(out)),
                }
            }
            if drain(&mut seq)? {
                self.state.capped.set(true);
            }
            return Ok(Value::Array(out));
        }
        if self.all() {
            while !self.state.spent() {
                match seq.next_element_seed(self.below(None))? {
                    Some(v) => out.push(v),
                    None => return Ok(Value::Array(out)),
                }
            }
            if drain(&mut seq)? {
                self.state.capped.set(true);
            }
            return Ok(Value::Array(out));
        }
        let keep = self.keep.expect("not all");
        // Only the indices a pointer names; the ones before them are
        // nulls, so that positions stay right.
        let last = keep
            .children
            .iter()
            .filter_map(|(t, _)| t.parse::<usize>().ok())
            .max();
        let Some(last) = last else {
            drain(&mut seq)?;
            return Ok(Value::Array(out));
        };
        for i in 0..=last {
            let got = match keep.child(&i.to_string()) {
                Some(child) => seq.next_element_seed(self.below(Some(child)))?,
                None => seq.next_element::<IgnoredAny>()?.map(|_| Value::Null),
            };
            match got {
                Some(v) => out.push(v),
                None => return Ok(Value::Array(out)),
            }
        }
        drain(&mut seq)?;
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let built = self.state.take();
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let keep = match self.keep {
                _ if !built => None,
                _ if self.state.spent() => {
                    self.state.capped.set(true);
                    None
                }
                None => Some(None),
                Some(k) if k.whole => Some(None),
                Some(k) => k.child(&key).map(Some),
            };
            match keep {
                // A key kept costs a value of the budget too.
                Some(keep) if self.state.take() => {
                    let v = map.next_value_seed(self.below(keep))?;
                    out.insert(key, v);
                }
                Some(_) => {
                    map.next_value::<IgnoredAny>()?;
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(if built {
            Value::Object(out)
        } else {
            Value::Null
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keep_items(items: &str, fields: &[&str]) -> Keep {
        let mut each = Keep::default();
        for f in fields {
            each.whole(f);
        }
        let mut keep = Keep::default();
        keep.items(items, each);
        keep
    }

    #[test]
    fn only_what_pointers_reach_is_built() {
        let body = br#"{"junk":[1,2,3],"data":{"children":[{"t":"a","x":{"deep":[1]},"n":{"v":1,"w":2}},{"t":"b"}]},"next":"c2","after":{"k":1}}"#;
        let mut keep = keep_items("/data/children", &["/t", "/n/v"]);
        keep.whole("/next");
        let got = parse(body, &keep).unwrap();
        assert_eq!(
            got.value,
            serde_json::json!({"data":{"children":[{"t":"a","n":{"v":1}},{"t":"b"}]},"next":"c2"})
        );
        assert!(!got.capped);
    }

    #[test]
    fn indices_keep_their_positions() {
        let body = br#"{"a":[{"x":1},{"x":2},{"x":3,"y":4},{"x":5}]}"#;
        let mut keep = Keep::default();
        keep.whole("/a/2/y");
        let got = parse(body, &keep).unwrap().value;
        assert_eq!(got.pointer("/a/2/y"), Some(&Value::from(4)));
        assert_eq!(got["a"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn items_and_values_are_capped() {
        let body = format!("[{}{{}}]", "{\"t\":\"x\"},".repeat(MAX_ITEMS + 5));
        let got = parse(body.as_bytes(), &keep_items("", &["/t"])).unwrap();
        assert_eq!(got.value.as_array().unwrap().len(), MAX_ITEMS);
        assert!(got.capped);
        // One item holding more values than the budget.
        let body = format!("[{{\"t\":[{}0]}}]", "0,".repeat(MAX_VALUES + 5));
        let got = parse(body.as_bytes(), &keep_items("", &["/t"])).unwrap();
        assert!(got.capped);
        assert!(got.value[0]["t"].as_array().unwrap().len() < MAX_VALUES);
    }

    #[test]
    fn nulls_and_keys_count_against_the_budget() {
        for body in [
            format!("[{{\"t\":[{}null]}}]", "null,".repeat(MAX_VALUES + 5)),
            format!(
                "[{{\"t\":{{{}\"z\":null}}}}]",
                (0..MAX_VALUES + 5)
                    .map(|i| format!("\"{i}\":null,"))
                    .collect::<String>()
            ),
        ] {
            let got = parse(body.as_bytes(), &keep_items("", &["/t"])).unwrap();
            assert!(got.capped);
            let kept = match &got.value[0]["t"] {
                Value::Array(a) => a.len(),
                Value::Object(o) => o.len(),
                other => panic!("{other}"),
            };
            assert!(kept < MAX_VALUES, "{kept}");
        }
        // The items array stays capped where another pointer wants it whole.
        let body = format!("{{\"d\":[{}{{}}]}}", "{},".repeat(MAX_ITEMS + 5));
        let mut keep = keep_items("/d", &["/t"]);
        keep.whole("/d");
        let got = parse(body.as_bytes(), &keep).unwrap();
        assert_eq!(got.value["d"].as_array().unwrap().len(), MAX_ITEMS);
    }

    #[test]
    fn the_whole_document_and_errors() {
        let mut keep = Keep::default();
        keep.whole("");
        let body = br#"{"a":[1,{"b":null}],"c":"\u00e9"}"#;
        assert_eq!(
            parse(body, &keep).unwrap().value,
            serde_json::from_slice::<Value>(body).unwrap()
        );
        assert!(parse(b"{\"a\":1", &keep).is_err());
        assert!(parse(b"{\"a\":1} x", &keep).is_err());
    }
}
