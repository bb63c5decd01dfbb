//! Choosing the tier to apply: named by the user, everything, or chosen by the pack's tier
//! rules from the model's system properties (the seed paper's light pass for a small system,
//! the comprehensive one for a system that processes personal data).

use serde::{Deserialize, Serialize};

use super::Engine;
use super::bind::BoundModel;
use super::eval::Frame;
use super::program::{self, Bindings, Layout};

/// Which tier was applied and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TierChoice {
    /// `None`: every item, whatever its tier.
    pub name: Option<String>,
    pub chosen_by: TierSource,
    /// In words: the flag, the rule that matched (and its reason), or why the default applies.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TierSource {
    /// `--tier NAME` (or the tier the bundle was built at).
    Flag,
    /// A tier rule of the pack matched the model's system properties.
    Rule,
    /// No rule matched: the pack's first tier.
    Default,
    /// `--tier all`, or a pack without tier rules: everything.
    All,
}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TierRequest {
    /// `--tier NAME`.
    Named(String),
    /// `--tier all`: every item, whatever its tier.
    All,
    /// `--tier auto`: the pack's tier rules decide.
    Auto,
}

impl TierRequest {
    /// `all`, `auto` or a tier name; absent means `auto` when the pack has tier rules, else `all`.
    pub fn parse(flag: Option<&str>) -> Option<TierRequest> {
        match flag {
            None => None,
            Some("all") => Some(TierRequest::All),
            Some("auto") => Some(TierRequest::Auto),
            Some(name) => Some(TierRequest::Named(name.to_string())),
        }
    }
}

/// The tier to apply (its rank among the knowledge base's tiers; `None`: all) and why.
pub fn choose_tier(
    engine: &mut Engine<'_>,
    model: &BoundModel,
    request: Option<TierRequest>,
) -> Result<(Option<usize>, TierChoice), String> {
    let kb = engine.kb;
    let request = request.unwrap_or(if kb.tier_rules.is_empty() {
        TierRequest::All
    } else {
        TierRequest::Auto
    });
    let built = kb.tier.as_deref();
    let choice = match request {
        TierRequest::All => match built {
            Some(built) => TierChoice {
                name: Some(built.to_string()),
                chosen_by: TierSource::Flag,
                reason: format!("the bundle was built with `--tier {built}`"),
            },
            None => TierChoice {
                name: None,
                chosen_by: TierSource::All,
                reason: if kb.tier_rules.is_empty() {
                    format!("`{}` declares no tier rules: every tier applies", kb.pack)
                } else {
                    "`--tier all`: every tier applies".to_string()
                },
            },
        },
        TierRequest::Named(name) => TierChoice {
            reason: format!("`--tier {name}`"),
            name: Some(name),
            chosen_by: TierSource::Flag,
        },
        TierRequest::Auto => auto(engine, model)?,
    };
    let Some(name) = &choice.name else {
        return Ok((None, choice));
    };
    let Some(rank) = kb.tier_rank(name) else {
        return Err(format!(
            "`{}` has no tier `{name}`; its tiers are {}",
            kb.pack,
            kb.tiers
                .iter()
                .map(|tier| format!("`{tier}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    };
    if let Some(built) = built
        && kb
            .tier_rank(built)
            .is_some_and(|built_rank| rank > built_rank)
    {
        return Err(format!(
            "tier `{name}` was asked for ({}), but the bundle was built with `--tier {built}` and holds only that tier and smaller; build the pack without `--tier`",
            choice.reason
        ));
    }
    Ok((Some(rank), choice))
}

fn auto(engine: &mut Engine<'_>, model: &BoundModel) -> Result<TierChoice, String> {
    let kb = engine.kb;
    let empty = Layout::default();
    let system = engine.system_layout.clone();
    for (position, rule) in kb.tier_rules.iter().enumerate() {
        let describe = |problem: String| {
            format!(
                "tier rule {} of `{}` (`{}`) cannot be evaluated: {problem}",
                position + 1,
                rule.provenance.pack,
                rule.when
            )
        };
        let parsed = program::parse(&rule.when).map_err(describe)?;
        let bindings = Bindings {
            subject: &empty,
            endpoints: None,
            system: &system,
        };
        let compiled = program::compile(&parsed, &bindings, &mut engine.symbols)
            .map_err(|problem| describe(problem.message))?;
        let mut frame = Frame {
            subject: &[],
            source: None,
            target: None,
            crosses_boundary: false,
            crossed_boundaries: super::value::Value::List(Vec::new().into()),
            system: &model.system,
            symbols: &engine.symbols,
            locals: Vec::new(),
        };
        if compiled
            .evaluate(&mut frame, &mut ())
            .map_err(|problem| describe(problem.message))?
        {
            return Ok(TierChoice {
                name: Some(rule.tier.clone()),
                chosen_by: TierSource::Rule,
                reason: format!(
                    "`{}` holds ({}:{}): {}",
                    rule.when, rule.provenance.file, rule.provenance.line, rule.reason
                ),
            });
        }
    }
    let first = kb
        .tiers
        .first()
        .cloned()
        .ok_or_else(|| format!("`{}` declares no tiers", kb.pack))?;
    Ok(TierChoice {
        name: Some(first.clone()),
        chosen_by: TierSource::Default,
        reason: format!(
            "no tier rule of `{}` matched the system properties: its first tier, `{first}`",
            kb.pack
        ),
    })
}
