//! Compiling a `kind = "huggingface_papers"` definition into an [`HfSpec`],
//! next to the spec it builds (as [`crate::extract::html::HtmlSpec::compile`]
//! is for HTML sources).

use super::{HfSpec, Listing, Mode, DEFAULT_BASE_URL};
use crate::defs::Invalid;
use crate::defs::{ListingDef, ModeDef, SourceDef};
use crate::urls::{parse_http_url, with_trailing_slash};

impl HfSpec {
    /// Compiles a `kind = "huggingface_papers"` definition; the message names
    /// the field at fault (the caller adds the file and source).
    pub fn compile(def: &SourceDef) -> Result<HfSpec, Invalid> {
        let msg = |m: &str| Invalid(m.to_string());
        let listing_def = def
        .listing
        .ok_or_else(|| msg("kind = \"huggingface_papers\" needs `listing` (daily, weekly, monthly, trending or search)"))?;
        let allowed: &[&str] = match listing_def {
            ListingDef::Daily => &["date"],
            ListingDef::Weekly => &["week"],
            ListingDef::Monthly => &["month"],
            ListingDef::Trending => &[],
            ListingDef::Search => &["query"],
        };
        for (field, set) in [
            ("date", def.date.is_some()),
            ("week", def.week.is_some()),
            ("month", def.month.is_some()),
            ("query", def.query.is_some()),
        ] {
            if set && !allowed.contains(&field) {
                return Err(format!(
                    "field `{field}` does not apply to listing = \"{}\"",
                    listing_name(listing_def)
                )
                .into());
            }
        }
        let listing =
            match listing_def {
                ListingDef::Daily => Listing::Daily(match def.date.as_deref() {
                    None | Some("latest") => None,
                    Some(d) => Some(chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(
                        |_| format!("field `date`: `{d}` is not YYYY-MM-DD or \"latest\""),
                    )?),
                }),
                ListingDef::Weekly => Listing::Weekly(match def.week.as_deref() {
                    None | Some("current") => None,
                    Some(w) if is_iso_week(w) => Some(w.to_string()),
                    Some(w) => {
                        return Err(format!(
                            "field `week`: `{w}` is not YYYY-Www (e.g. 2026-W41) or \"current\""
                        )
                        .into())
                    }
                }),
                ListingDef::Monthly => Listing::Monthly(match def.month.as_deref() {
                    None | Some("current") => None,
                    Some(m)
                        if chrono::NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d")
                            .is_ok()
                            && m.len() == 7 =>
                    {
                        Some(m.to_string())
                    }
                    Some(m) => {
                        return Err(
                            format!("field `month`: `{m}` is not YYYY-MM or \"current\"").into(),
                        )
                    }
                }),
                ListingDef::Trending => Listing::Trending,
                ListingDef::Search => {
                    let q = def.query.as_deref().map(str::trim).unwrap_or_default();
                    if q.is_empty() || q.chars().count() > 250 {
                        return Err(msg(
                            "listing = \"search\" needs a `query` of 1 to 250 characters",
                        ));
                    }
                    Listing::Search(q.to_string())
                }
            };
        let base = parse_http_url(def.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL))
            .map(with_trailing_slash)
            .map_err(|m| format!("field `base_url`: {m}"))?;
        let max_pages = match def.max_pages {
            Some(0) => return Err(msg("field `max_pages`: must be at least 1")),
            Some(n) => n,
            None => HfSpec::default_max_pages(&listing),
        };
        Ok(HfSpec {
            listing,
            mode: match def.mode {
                None | Some(ModeDef::Api) => Mode::Api,
                Some(ModeDef::Page) => Mode::Page,
            },
            base,
            max_pages,
        })
    }
}

fn listing_name(l: ListingDef) -> &'static str {
    match l {
        ListingDef::Daily => "daily",
        ListingDef::Weekly => "weekly",
        ListingDef::Monthly => "monthly",
        ListingDef::Trending => "trending",
        ListingDef::Search => "search",
    }
}

/// `2026-W41`.
fn is_iso_week(w: &str) -> bool {
    let Some((y, wk)) = w.split_once("-W") else {
        return false;
    };
    y.len() == 4
        && y.parse::<i32>().is_ok()
        && wk.len() == 2
        && wk.parse::<u32>().is_ok_and(|n| (1..=53).contains(&n))
}
