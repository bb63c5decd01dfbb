//! From findings to what people use: threat instances with their mitigations and residual
//! risk, totals, the backlog and the alignment with user stories (`report`), and their
//! renderings (summary, JSON, Markdown, backlog; and with the model's data-flow diagram,
//! `diagram`: HTML, Mermaid, Open Threat Model and STIX).
//!
//! `analyse` runs the engine with a sink that keeps findings compactly (indexes, no strings)
//! and then builds the `Report`. With `Detail::Summary`, only the totals, the worst threats and
//! the backlog's counts are materialised: a model of 30,000 elements can have millions of
//! threat instances, and a terminal summary needs none of their text.

pub mod activities;
pub mod backlog;
pub mod backlog_sync;
pub mod diagram;
pub mod diff;
pub mod gate;
pub mod html;
mod json;
pub mod markdown;
pub mod otm_report;
pub mod questions;
pub mod report;
pub mod sarif;
pub mod stix;
pub mod summary;
pub mod view;

use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};

use crate::compile::KnowledgeBase;
use crate::digest::sha256_hex;
use crate::engine::bind::BoundModel;
use crate::engine::{Engine, RuleProblem, Rules, Sink};
use crate::model::{ImplementationStatus, Severity, Strength};

pub use json::write_report_json;
use report::*;

/// How much of the report to materialise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Everything.
    Full,
    /// Totals, the `limit` worst threat instances, backlog items without their places.
    Summary { limit: usize },
}

/// One finding, by indexes: links are a range of `Collector::links`.
struct Finding {
    attack_pattern: u32,
    element: u32,
    links: (u32, u32),
}

/// What evaluation leaves for the report: the findings kept (with `Detail::Full`, all of them;
/// with `Detail::Summary`, only those that may be among the worst shown), their assessments,
/// and what every finding adds up to (counts and the backlog's work).
#[derive(Default)]
struct Collector {
    findings: Vec<Finding>,
    links: Vec<u32>,
    assessments: Vec<Assessment>,
    problems: Vec<RuleProblem>,
    counts: Counts,
    /// Per mitigation (index): what is still to do, over every finding.
    work: Vec<Option<Work>>,
    /// Per link: whether it made a mitigation work somewhere.
    links_used: Vec<bool>,
}

/// Numbers over every finding, kept or not.
#[derive(Default)]
struct Counts {
    findings: usize,
    /// Per attack pattern: findings per severity.
    per_pattern: Vec<[usize; 5]>,
    /// Per residual severity, then "none".
    by_residual: [usize; 6],
    by_state: [usize; 5],
    unmitigated: usize,
}

/// What a finding is assessed against while the engine runs.
struct Assessor<'a> {
    kb: &'a KnowledgeBase,
    statuses: &'a Statuses<'a>,
    /// The mitigation of each link (index into `kb.mitigations`).
    link_mitigations: &'a [Option<usize>],
    detail: Detail,
    /// Without any recorded status, a finding's assessment is its attack pattern's: by index.
    unrecorded: Option<Vec<Assessment>>,
}

/// The sink of one share of the evaluation: each finding is assessed, counted and added to the
/// backlog's work as it comes, and kept only if the report needs it.
struct Tally<'a> {
    assessor: &'a Assessor<'a>,
    collector: Collector,
    /// With `Detail::Summary`: per (residual, severity) bucket, how many findings were kept.
    /// The worst `limit` findings are the first of their buckets, in model order.
    kept: Vec<usize>,
    /// When the engine reports whole blocks (a summary without recorded statuses).
    blocks: Option<Blocks>,
}

/// What a tally that takes blocks adds up: findings then come entity by entity, so the ones
/// kept are chosen by model order here, and places are counted per block.
struct Blocks {
    limit: usize,
    /// Per (residual, severity) bucket: its first `limit` findings in model order so far, the
    /// last in model order on top.
    candidates: Vec<BinaryHeap<Candidate>>,
    /// Per mitigation: the elements of the current block where it is still to do.
    places: Vec<u64>,
    /// The mitigations with places in the current block.
    touched: Vec<usize>,
}

/// A finding that may be among the worst shown, ordered by model order.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Candidate {
    element: u32,
    attack_pattern: u32,
    links: Vec<u32>,
}

impl Blocks {
    /// Keeps the finding if it is among its bucket's first `limit` in model order. Returns
    /// false when it is not, nor would any later element of the same rule be.
    fn offer(&mut self, bucket: usize, key: (u32, u32), links: impl FnOnce() -> Vec<u32>) -> bool {
        if self.candidates.len() <= bucket {
            self.candidates.resize_with(bucket + 1, BinaryHeap::new);
        }
        let heap = &mut self.candidates[bucket];
        if heap.len() >= self.limit {
            match heap.peek() {
                Some(last) if key < (last.element, last.attack_pattern) => {
                    heap.pop();
                }
                _ => return false,
            }
        }
        if self.limit > 0 {
            heap.push(Candidate {
                element: key.0,
                attack_pattern: key.1,
                links: links(),
            });
        }
        true
    }
}

impl Sink for Tally<'_> {
    fn reserve(&mut self, findings: usize) {
        if self.assessor.detail == Detail::Full {
            let collector = &mut self.collector;
            collector.findings.reserve_exact(findings);
            collector.assessments.reserve_exact(findings);
            collector.links.reserve(findings);
        }
    }

    fn finding(&mut self, attack_pattern: usize, element: usize, links: &[usize]) {
        let assessor = self.assessor;
        let assessment = assessor.assess(attack_pattern, element, links);
        let collector = &mut self.collector;
        assessor.add_work(collector, element, links);
        let counts = &mut collector.counts;
        counts.findings += 1;
        counts.per_pattern[attack_pattern][assessment.severity as usize] += 1;
        counts.by_residual
            [Severity::of_score(assessment.residual.into()).map_or(5, |level| level as usize)] += 1;
        counts.by_state[assessment.state as usize] += 1;
        if !matches!(
            assessment.state,
            ThreatState::Mitigated | ThreatState::PartiallyMitigated
        ) {
            counts.unmitigated += 1;
        }
        if let Some(blocks) = &mut self.blocks {
            let bucket =
                assessment.residual as usize * Severity::ALL.len() + assessment.severity as usize;
            blocks.offer(bucket, (element as u32, attack_pattern as u32), || {
                links.iter().map(|link| *link as u32).collect()
            });
            return;
        }
        if let Detail::Summary { limit } = assessor.detail {
            let bucket =
                assessment.residual as usize * Severity::ALL.len() + assessment.severity as usize;
            if self.kept.len() <= bucket {
                self.kept.resize(bucket + 1, 0);
            }
            if self.kept[bucket] >= limit {
                return;
            }
            self.kept[bucket] += 1;
        }
        let start = collector.links.len() as u32;
        collector
            .links
            .extend(links.iter().map(|link| *link as u32));
        collector.findings.push(Finding {
            attack_pattern: attack_pattern as u32,
            element: element as u32,
            links: (start, collector.links.len() as u32),
        });
        collector.assessments.push(assessment);
    }

    fn problem(&mut self, problem: RuleProblem) {
        self.collector.problems.push(problem);
    }

    fn takes_blocks(&self) -> bool {
        self.blocks.is_some()
    }

    /// What `finding` does for each element of the block, once per block: every finding of
    /// an attack pattern has its assessment (no status is recorded).
    fn findings_in_block(
        &mut self,
        attack_pattern: usize,
        elements: &[u32],
        applies: u64,
        links: &[(usize, u64)],
    ) {
        let (Some(blocks), Some(unrecorded)) = (&mut self.blocks, &self.assessor.unrecorded) else {
            return;
        };
        let Some(assessment) = unrecorded.get(attack_pattern) else {
            return;
        };
        let count = applies.count_ones() as usize;
        let collector = &mut self.collector;
        let counts = &mut collector.counts;
        counts.findings += count;
        counts.per_pattern[attack_pattern][assessment.severity as usize] += count;
        counts.by_residual
            [Severity::of_score(assessment.residual.into()).map_or(5, |level| level as usize)] +=
            count;
        counts.by_state[assessment.state as usize] += count;
        if !matches!(
            assessment.state,
            ThreatState::Mitigated | ThreatState::PartiallyMitigated
        ) {
            counts.unmitigated += count;
        }
        // Without recorded statuses every mitigation is missing: work wherever its link holds.
        for (link, holds) in links {
            let Some(mitigation) = self.assessor.link_mitigation(*link) else {
                continue;
            };
            if *holds == 0 {
                continue;
            }
            collector.links_used[*link] = true;
            collector.work[mitigation].get_or_insert_with(Work::new);
            if blocks.places[mitigation] == 0 {
                blocks.touched.push(mitigation);
            }
            blocks.places[mitigation] |= holds;
        }
        let bucket =
            assessment.residual as usize * Severity::ALL.len() + assessment.severity as usize;
        let mut bits = applies;
        while bits != 0 {
            let bit = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let key = (elements[bit], attack_pattern as u32);
            let kept = blocks.offer(bucket, key, || {
                links
                    .iter()
                    .filter(|(_, holds)| holds & (1u64 << bit) != 0)
                    .map(|(link, _)| *link as u32)
                    .collect()
            });
            // Elements ascend within the block: the later ones come after this one.
            if !kept {
                break;
            }
        }
    }

    fn end_block(&mut self) {
        let Some(blocks) = &mut self.blocks else {
            return;
        };
        for mitigation in blocks.touched.drain(..) {
            let places = std::mem::take(&mut blocks.places[mitigation]);
            if let Some(entry) = &mut self.collector.work[mitigation] {
                entry.place_count += places.count_ones() as usize;
            }
        }
    }
}

impl Tally<'_> {
    /// What the share added up, with the findings kept in model order.
    fn into_collector(self) -> Collector {
        let mut collector = self.collector;
        let (Some(blocks), Some(unrecorded)) = (self.blocks, &self.assessor.unrecorded) else {
            return collector;
        };
        let mut kept: Vec<Candidate> = blocks
            .candidates
            .into_iter()
            .flat_map(BinaryHeap::into_vec)
            .collect();
        kept.sort_unstable();
        for candidate in kept {
            let start = collector.links.len() as u32;
            collector.links.extend(candidate.links);
            collector.findings.push(Finding {
                attack_pattern: candidate.attack_pattern,
                element: candidate.element,
                links: (start, collector.links.len() as u32),
            });
            if let Some(assessment) = unrecorded.get(candidate.attack_pattern as usize) {
                collector.assessments.push(*assessment);
            }
        }
        collector
    }
}

impl Assessor<'_> {
    fn link_mitigation(&self, link: usize) -> Option<usize> {
        self.link_mitigations.get(link).copied().flatten()
    }

    fn assess(&self, attack_pattern: usize, element: usize, links: &[usize]) -> Assessment {
        if let Some(assessment) = self
            .unrecorded
            .as_ref()
            .and_then(|unrecorded| unrecorded.get(attack_pattern))
        {
            return *assessment;
        }
        let kb = self.kb;
        let severity = kb.attack_patterns[attack_pattern].severity;
        let mut strongest: Option<u32> = None;
        let (mut planned, mut accepted) = (false, false);
        for link in links {
            let Some(mitigation) = self.link_mitigation(*link) else {
                continue;
            };
            match self.statuses.get(mitigation, element).0 {
                ImplementationStatus::Existing => {
                    let percent = kb.links[*link].strength.percent();
                    strongest = Some(strongest.map_or(percent, |best| best.max(percent)));
                }
                ImplementationStatus::Planned => planned = true,
                ImplementationStatus::AcceptedRisk => accepted = true,
                ImplementationStatus::NotApplicable | ImplementationStatus::Missing => {}
            }
        }
        let score = severity.score();
        let residual = match strongest {
            // Rounded half up, in integers: score × (100 − strength) / 100.
            Some(percent) => (score * (100 - percent) + 50) / 100,
            None => score,
        };
        let state = match strongest {
            Some(_) if residual == 0 => ThreatState::Mitigated,
            Some(_) => ThreatState::PartiallyMitigated,
            None if accepted => ThreatState::Accepted,
            None if planned => ThreatState::Planned,
            None => ThreatState::Unmitigated,
        };
        Assessment {
            severity,
            residual: residual_score(residual),
            state,
        }
    }

    /// The mitigation of `link`, when it is work at `element`: missing or planned there (in
    /// place, not applicable and accepted risks are decisions already made).
    fn work_of(&self, link: usize, element: usize) -> Option<usize> {
        let mitigation = self.link_mitigation(link)?;
        let (status, _) = if self.unrecorded.is_some() {
            (ImplementationStatus::Missing, None)
        } else {
            self.statuses.get(mitigation, element)
        };
        matches!(
            status,
            ImplementationStatus::Missing | ImplementationStatus::Planned
        )
        .then_some(mitigation)
    }

    /// Counts the mitigations still to do for a finding on `element` in `work`. Findings
    /// arrive element by element, so a change of element is a new place. Its severity,
    /// strength and attack patterns come from the links used (`links_used`), once all are
    /// known (`finish_work`); with `Detail::Full`, its places and findings are listed after
    /// the evaluation (`list_work`).
    fn add_work(&self, collector: &mut Collector, element: usize, links: &[usize]) {
        for link in links {
            let Some(mitigation) = self.work_of(*link, element) else {
                continue;
            };
            collector.links_used[*link] = true;
            let entry = collector.work[mitigation].get_or_insert_with(Work::new);
            if entry.last_place != Some(element) {
                entry.last_place = Some(element);
                entry.place_count += 1;
            }
        }
    }

    /// With `Detail::Full`: each mitigation's places and findings, from the joined findings
    /// in their order, in vectors sized exactly (a count, then a fill). Listing them after
    /// the evaluation keeps them out of its peak, when every share's findings are alive.
    fn list_work(&self, collector: &mut Collector) {
        let Collector {
            findings,
            links,
            work,
            ..
        } = collector;
        // Pass 1 counts, pass 2 fills; `last` is the last place listed per mitigation.
        let mut places = vec![0usize; work.len()];
        let mut listed = vec![0usize; work.len()];
        for fill in [false, true] {
            let mut last: Vec<Option<u32>> = vec![None; work.len()];
            for (index, finding) in findings.iter().enumerate() {
                let element = finding.element as usize;
                let range = finding.links.0 as usize..finding.links.1 as usize;
                for link in &links[range] {
                    let Some(mitigation) = self.work_of(*link as usize, element) else {
                        continue;
                    };
                    let Some(Some(entry)) = work.get_mut(mitigation) else {
                        continue;
                    };
                    let new_place = last[mitigation] != Some(finding.element);
                    last[mitigation] = Some(finding.element);
                    if fill {
                        if new_place {
                            entry.places.push(finding.element);
                        }
                        entry.findings.push(index as u32);
                    } else {
                        places[mitigation] += usize::from(new_place);
                        listed[mitigation] += 1;
                    }
                }
            }
            if !fill {
                for (mitigation, entry) in work.iter_mut().enumerate() {
                    if let Some(entry) = entry {
                        entry.places.reserve_exact(places[mitigation]);
                        entry.findings.reserve_exact(listed[mitigation]);
                    }
                }
            }
        }
    }

    /// The severity (the worst attack pattern's), strength (the strongest link's) and attack
    /// patterns of each mitigation still to do, from the links that made it work.
    fn finish_work(&self, work: &mut [Option<Work>], links_used: &[bool]) {
        let kb = self.kb;
        let patterns: HashMap<&str, usize> = kb
            .attack_patterns
            .iter()
            .enumerate()
            .map(|(index, pattern)| (pattern.id.as_str(), index))
            .collect();
        for (link, used) in links_used.iter().enumerate() {
            let (true, Some(mitigation)) = (*used, self.link_mitigation(link)) else {
                continue;
            };
            let Some(Some(entry)) = work.get_mut(mitigation) else {
                continue;
            };
            let Some(pattern) = patterns.get(kb.links[link].attack_pattern.as_str()) else {
                continue;
            };
            entry.attack_patterns.insert(*pattern);
            entry.severity = entry.severity.max(kb.attack_patterns[*pattern].severity);
            entry.strength = entry.strength.max(kb.links[link].strength);
        }
    }

    fn tally(&self) -> Tally<'_> {
        Tally {
            assessor: self,
            collector: Collector {
                counts: Counts {
                    per_pattern: vec![[0; 5]; self.kb.attack_patterns.len()],
                    ..Counts::default()
                },
                work: (0..self.kb.mitigations.len()).map(|_| None).collect(),
                links_used: vec![false; self.kb.links.len()],
                ..Collector::default()
            },
            kept: Vec::new(),
            blocks: match self.detail {
                Detail::Summary { limit } if self.unrecorded.is_some() => Some(Blocks {
                    limit,
                    candidates: Vec::new(),
                    places: vec![0; self.kb.mitigations.len()],
                    touched: Vec::new(),
                }),
                _ => None,
            },
        }
    }
}

impl Collector {
    /// Appends the share that follows this one in model order.
    fn append(&mut self, share: Collector) {
        let link_offset = self.links.len() as u32;
        let Collector {
            findings,
            links,
            assessments,
            problems,
            counts: share_counts,
            work,
            links_used,
        } = share;
        // Each part of the share is freed once it is appended: the peak holds one part twice,
        // not all of them.
        self.links.extend(links);
        self.findings
            .extend(findings.into_iter().map(|finding| Finding {
                links: (finding.links.0 + link_offset, finding.links.1 + link_offset),
                ..finding
            }));
        self.assessments.extend(assessments);
        self.problems.extend(problems);
        let counts = &mut self.counts;
        counts.findings += share_counts.findings;
        for (mine, theirs) in counts.per_pattern.iter_mut().zip(&share_counts.per_pattern) {
            for (mine, theirs) in mine.iter_mut().zip(theirs) {
                *mine += theirs;
            }
        }
        for (mine, theirs) in counts.by_residual.iter_mut().zip(share_counts.by_residual) {
            *mine += theirs;
        }
        for (mine, theirs) in counts.by_state.iter_mut().zip(share_counts.by_state) {
            *mine += theirs;
        }
        counts.unmitigated += share_counts.unmitigated;
        for (mine, theirs) in self.links_used.iter_mut().zip(links_used) {
            *mine |= theirs;
        }
        // Shares are disjoint ranges of elements: their places are distinct. (Places and
        // findings are listed after the join: `Assessor::list_work`.)
        for (mine, theirs) in self.work.iter_mut().zip(work) {
            let Some(theirs) = theirs else {
                continue;
            };
            match mine {
                None => *mine = Some(theirs),
                Some(mine) => mine.place_count += theirs.place_count,
            }
        }
    }
}

/// Evaluates the model on every core, each thread a contiguous share of the elements, and
/// joins the shares in element order: the result is the same as one thread's.
fn evaluate_in_parallel(
    engine: &Engine<'_>,
    rules: &Rules,
    model: &BoundModel,
    assessor: &Assessor<'_>,
) -> Collector {
    let elements = model.elements.len();
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(elements / 1000 + 1);
    if threads <= 1 {
        let mut tally = assessor.tally();
        engine.evaluate(rules, model, &mut tally);
        return tally.into_collector();
    }
    let share = elements.div_ceil(threads);
    let shares: Vec<Collector> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|thread| {
                let range = (thread * share).min(elements)..((thread + 1) * share).min(elements);
                scope.spawn(move || {
                    let mut tally = assessor.tally();
                    engine.evaluate_range(rules, model, range, &mut tally);
                    tally.into_collector()
                })
            })
            .collect();
        handles
            .into_iter()
            // A panic is a bug: re-raise it rather than lose a share of the findings.
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    // The first share grows to hold the others (reserved exactly): no second copy of it.
    let mut shares = shares.into_iter();
    let mut joined = shares.next().unwrap_or_default();
    let rest: Vec<Collector> = shares.collect();
    joined
        .findings
        .reserve_exact(rest.iter().map(|share| share.findings.len()).sum());
    joined
        .assessments
        .reserve_exact(rest.iter().map(|share| share.assessments.len()).sum());
    joined
        .links
        .reserve_exact(rest.iter().map(|share| share.links.len()).sum());
    for share in rest {
        joined.append(share);
    }
    joined
}

/// The recorded status of mitigations: entries naming an element win over global ones.
struct Statuses<'m> {
    at: HashMap<(usize, usize), usize>,
    /// By mitigation index: the entry without `at`, if any.
    everywhere: HashMap<usize, usize>,
    model: &'m BoundModel,
}

impl<'m> Statuses<'m> {
    fn new(model: &'m BoundModel) -> Statuses<'m> {
        let mut at = HashMap::new();
        let mut everywhere = HashMap::new();
        for (index, entry) in model.statuses.iter().enumerate() {
            if entry.at.is_empty() {
                everywhere.insert(entry.mitigation, index);
            }
            for element in &entry.at {
                at.insert((entry.mitigation, *element), index);
            }
        }
        Statuses {
            at,
            everywhere,
            model,
        }
    }

    fn get(&self, mitigation: usize, element: usize) -> (ImplementationStatus, Option<&'m str>) {
        match self.entry(mitigation, element) {
            // An acceptance past its date is no decision any more: the mitigation is missing.
            Some(entry) if entry.acceptance.as_ref().is_some_and(|a| a.expired) => {
                (ImplementationStatus::Missing, entry.note.as_deref())
            }
            Some(entry) => (entry.status, entry.note.as_deref()),
            None => (ImplementationStatus::Missing, None),
        }
    }

    /// The risk acceptance recorded for the mitigation at the element, if any.
    fn acceptance(&self, mitigation: usize, element: usize) -> Option<&'m Acceptance> {
        self.entry(mitigation, element)?.acceptance.as_ref()
    }

    fn entry(
        &self,
        mitigation: usize,
        element: usize,
    ) -> Option<&'m crate::engine::bind::StatusEntry> {
        // Most models record few statuses: skip the lookups when there is nothing to find.
        let entry = if self.at.is_empty() {
            None
        } else {
            self.at.get(&(mitigation, element))
        }
        .or_else(|| {
            if self.everywhere.is_empty() {
                None
            } else {
                self.everywhere.get(&mitigation)
            }
        });
        entry.and_then(|index| self.model.statuses.get(*index))
    }
}

/// What a finding amounts to once the mitigations' status counts. Three bytes: the JSON
/// report keeps one per finding, millions of them.
#[derive(Clone, Copy)]
struct Assessment {
    severity: Severity,
    /// 0–100 (`Severity::score` less the strongest mitigation's share).
    residual: u8,
    state: ThreatState,
}

/// A residual score (0–100) as an `Assessment` holds it.
fn residual_score(score: u32) -> u8 {
    u8::try_from(score.min(100)).unwrap_or(100)
}

/// Applies the rules to the model and builds the report.
pub fn analyse(
    engine: &Engine<'_>,
    rules: &Rules,
    model: &BoundModel,
    header: Header,
    detail: Detail,
) -> Report {
    with_builder(engine, rules, model, detail, |builder| {
        builder.build(rules, header, detail)
    })
}

/// Evaluates the rules on the model (keeping what `detail` needs), then runs `run` with a
/// builder of the report.
fn with_builder<R>(
    engine: &Engine<'_>,
    rules: &Rules,
    model: &BoundModel,
    detail: Detail,
    run: impl FnOnce(&Builder<'_, '_>) -> R,
) -> R {
    let statuses = Statuses::new(model);
    let link_mitigations: Vec<Option<usize>> = {
        let index: HashMap<&str, usize> = engine
            .kb
            .mitigations
            .iter()
            .enumerate()
            .map(|(position, mitigation)| (mitigation.id.as_str(), position))
            .collect();
        engine
            .kb
            .links
            .iter()
            .map(|link| index.get(link.mitigation.as_str()).copied())
            .collect()
    };
    let unrecorded = model.statuses.is_empty().then(|| {
        engine
            .kb
            .attack_patterns
            .iter()
            .map(|pattern| Assessment {
                severity: pattern.severity,
                residual: residual_score(pattern.severity.score()),
                state: ThreatState::Unmitigated,
            })
            .collect()
    });
    let assessor = Assessor {
        kb: engine.kb,
        statuses: &statuses,
        link_mitigations: &link_mitigations,
        detail,
        unrecorded,
    };
    let mut collector = evaluate_in_parallel(engine, rules, model, &assessor);
    if detail == Detail::Full {
        assessor.list_work(&mut collector);
    }
    assessor.finish_work(&mut collector.work, &collector.links_used);
    let tallied = Tallied {
        assessments: std::mem::take(&mut collector.assessments),
        counts: std::mem::take(&mut collector.counts),
        work: std::mem::take(&mut collector.work),
    };
    let builder = Builder {
        engine,
        model,
        statuses,
        collector: &collector,
        tallied: std::sync::Mutex::new(Some(tallied)),
        link_mitigations,
        _kb: std::marker::PhantomData,
    };
    run(&builder)
}

/// What the evaluation added up, until `Builder::prepare` takes it.
struct Tallied {
    assessments: Vec<Assessment>,
    counts: Counts,
    work: Vec<Option<Work>>,
}

/// The report by indexes, before any of its text is made (`Builder::prepare`).
struct Prepared {
    assessments: Vec<Assessment>,
    totals: Totals,
    /// Indexes of the findings shown, worst first.
    order: Vec<u32>,
    /// The backlog: per mitigation (index), what is still to do, in the backlog's order.
    work: Vec<(usize, Work)>,
    errors: Vec<EvaluationError>,
}

impl Work {
    fn new() -> Work {
        Work {
            place_count: 0,
            last_place: None,
            places: Vec::new(),
            findings: Vec::new(),
            attack_patterns: BTreeSet::new(),
            severity: Severity::Info,
            strength: Strength::Negligible,
        }
    }
}

/// What a mitigation still to do amounts to.
struct Work {
    /// Distinct places: findings arrive element by element, so counting changes of element
    /// counts them without a set.
    place_count: usize,
    last_place: Option<usize>,
    /// With `Detail::Full` only, listed after the evaluation: the places (element indexes)
    /// and the findings.
    places: Vec<u32>,
    findings: Vec<u32>,
    attack_patterns: BTreeSet<usize>,
    severity: Severity,
    /// The strongest of its links to the threats it addresses here.
    strength: Strength,
}

/// What the caller knows about the run: the model file and the tier choice.
pub struct Header {
    pub model_file: String,
    pub tier: TierChoice,
    pub provenance: report::Provenance,
}

struct Builder<'a, 'kb> {
    engine: &'a Engine<'kb>,
    model: &'a BoundModel,
    statuses: Statuses<'a>,
    collector: &'a Collector,
    /// Taken by `prepare`, which runs once. (A mutex, not a cell: the JSON report's workers
    /// share the builder.)
    tallied: std::sync::Mutex<Option<Tallied>>,
    /// The mitigation of each link (index into `kb.mitigations`).
    link_mitigations: Vec<Option<usize>>,
    _kb: std::marker::PhantomData<&'kb ()>,
}

/// `PREFIX-` and 12 hex digits of the sha256 of `key`.
fn stable_id(prefix: &str, key: &str) -> String {
    format!("{prefix}-{}", &sha256_hex(key.as_bytes())[..12])
}

impl Builder<'_, '_> {
    fn link_mitigation(&self, link: u32) -> Option<usize> {
        self.link_mitigations.get(link as usize).copied().flatten()
    }

    fn build(&self, rules: &Rules, header: Header, detail: Detail) -> Report {
        let prepared = self.prepare(rules, detail);
        let findings = &self.collector.findings;
        let threats: Vec<ThreatInstance> = prepared
            .order
            .iter()
            .map(|index| {
                let index = *index as usize;
                self.instance(&findings[index], &prepared.assessments[index])
            })
            .collect();
        let backlog = prepared
            .work
            .iter()
            .map(|(mitigation, work)| self.backlog_item(*mitigation, work, detail))
            .collect();
        let alignment = match detail {
            Detail::Full => self.alignment(&prepared.assessments),
            Detail::Summary { .. } => Alignment::default(),
        };
        let provenance = header.provenance.clone();
        let (format, model, pack, tier) = self.heading(header);
        let activities = activities::activities(self.engine, self.model, &prepared.totals, &tier);
        Report {
            format,
            provenance,
            model,
            pack,
            tier,
            threats,
            totals: prepared.totals,
            backlog,
            alignment,
            activities,
            errors: prepared.errors,
        }
    }

    /// The fields of the report before its threats.
    fn heading(&self, header: Header) -> (u32, ModelSummary, PackRef, TierChoice) {
        let model = self.model;
        let kb = self.engine.kb;
        (
            REPORT_FORMAT,
            ModelSummary {
                name: model.name.clone(),
                file: header.model_file,
                components: model.components,
                flows: model.flows,
                boundaries: model.boundaries,
                out_of_scope: model
                    .elements
                    .iter()
                    .filter_map(|element| {
                        let reason = element.out_of_scope.as_deref()?;
                        Some(OutOfScopeElement {
                            element: element.id.clone(),
                            reason: (!reason.is_empty()).then(|| reason.to_string()),
                        })
                    })
                    .collect(),
            },
            PackRef {
                name: kb.pack.clone(),
                version: kb.version.clone(),
            },
            header.tier,
        )
    }

    /// Everything the report needs, by index: assessments, totals, the order of the threats
    /// kept, the backlog's work per mitigation (sorted) and the evaluation errors.
    fn prepare(&self, rules: &Rules, detail: Detail) -> Prepared {
        let kb = self.engine.kb;
        let findings = &self.collector.findings;
        let Tallied {
            assessments,
            counts,
            work,
        } = self
            .tallied
            .lock()
            .ok()
            .and_then(|mut tallied| tallied.take())
            .expect("`prepare` runs once per builder, after the evaluation");

        // Totals.
        let mut totals = Totals {
            threats: counts.findings,
            unmitigated: counts.unmitigated,
            ..Totals::default()
        };
        for category in view::STRIDE {
            totals.by_category.insert(category.to_string(), 0);
        }
        for severity in Severity::ALL {
            totals.by_severity.insert(severity.as_str().to_string(), 0);
            totals.by_residual.insert(severity.as_str().to_string(), 0);
        }
        totals.by_residual.insert("none".to_string(), 0);
        let (per_pattern, by_residual, by_state) =
            (&counts.per_pattern, counts.by_residual, counts.by_state);
        for (pattern, counts) in kb.attack_patterns.iter().zip(per_pattern) {
            let total: usize = counts.iter().sum();
            if total == 0 {
                continue;
            }
            for (severity, count) in Severity::ALL.iter().zip(counts) {
                *totals
                    .by_severity
                    .entry(severity.as_str().to_string())
                    .or_default() += count;
            }
            for category in &pattern.categories {
                *totals.by_category.entry(category.clone()).or_default() += total;
                let cell = totals
                    .by_category_and_severity
                    .entry(category.clone())
                    .or_default();
                for (severity, count) in Severity::ALL.iter().zip(counts) {
                    if *count > 0 {
                        *cell.entry(severity.as_str().to_string()).or_default() += count;
                    }
                }
            }
        }
        for (level, count) in Severity::ALL
            .iter()
            .map(|severity| severity.as_str())
            .chain(["none"])
            .zip(by_residual)
        {
            *totals.by_residual.entry(level.to_string()).or_default() += count;
        }
        for (state, count) in ThreatState::ALL.iter().zip(by_state) {
            if count > 0 {
                *totals
                    .by_state
                    .entry(state_name(*state).to_string())
                    .or_default() += count;
            }
        }

        // Threat instances, worst first.
        let keep = match detail {
            Detail::Full => findings.len(),
            Detail::Summary { limit } => limit.min(findings.len()),
        };
        let order = worst_first(findings, &assessments, keep);
        let work = backlog_order(kb, work, &mut totals);
        let mut errors: Vec<EvaluationError> = rules
            .problems
            .iter()
            .chain(&self.collector.problems)
            .map(|problem| EvaluationError {
                rule: problem.rule.clone(),
                element: problem.subject.clone(),
                message: problem.message.clone(),
            })
            .collect();
        errors.sort_by(|a, b| (&a.rule, &a.element).cmp(&(&b.rule, &b.element)));
        errors.dedup();
        Prepared {
            assessments,
            totals,
            order,
            work,
            errors,
        }
    }

    /// The id of a finding's threat instance (`T-` and 12 hex digits of
    /// sha256("ATTACK-PATTERN@ELEMENT")).
    fn threat_id(&self, finding: &Finding) -> ThreatId {
        ThreatId::of(
            &self.engine.kb.attack_patterns[finding.attack_pattern as usize].id,
            &self.model.elements[finding.element as usize].id,
        )
    }

    fn instance(&self, finding: &Finding, assessment: &Assessment) -> ThreatInstance {
        self.instance_ref(finding, assessment, self.threat_id(finding))
            .into_owned()
    }

    /// A threat instance, its text borrowed; `id` is `threat_id(finding)`.
    fn instance_ref(
        &self,
        finding: &Finding,
        assessment: &Assessment,
        id: ThreatId,
    ) -> ThreatInstanceRef<'_> {
        let kb = self.engine.kb;
        let pattern = &kb.attack_patterns[finding.attack_pattern as usize];
        let element = &self.model.elements[finding.element as usize];
        let mut mitigations: Vec<MitigationAtRef<'_>> = self.collector.links
            [finding.links.0 as usize..finding.links.1 as usize]
            .iter()
            .filter_map(|link| {
                let mitigation_index = self.link_mitigation(*link)?;
                let mitigation = &kb.mitigations[mitigation_index];
                let (status, note) = self
                    .statuses
                    .get(mitigation_index, finding.element as usize);
                Some(MitigationAtRef {
                    mitigation: &mitigation.id,
                    name: &mitigation.name,
                    strength: kb.links[*link as usize].strength,
                    status,
                    note,
                    acceptance: self
                        .statuses
                        .acceptance(mitigation_index, finding.element as usize),
                })
            })
            .collect();
        mitigations.sort_by(|a, b| {
            b.strength
                .cmp(&a.strength)
                .then_with(|| a.mitigation.cmp(b.mitigation))
        });
        ThreatInstanceRef {
            id,
            attack_pattern: &pattern.id,
            name: &pattern.name,
            element: &element.id,
            element_name: &element.name,
            categories: &pattern.categories,
            severity: pattern.severity,
            likelihood: pattern.likelihood,
            impact: pattern.impact,
            tier: &pattern.tier,
            mitigations,
            residual: Residual {
                score: assessment.residual.into(),
                severity: Severity::of_score(assessment.residual.into()),
            },
            state: assessment.state,
        }
    }

    /// The backlog item of a mitigation; its places and threats only with `Detail::Full`.
    fn backlog_item(&self, mitigation_index: usize, work: &Work, detail: Detail) -> BacklogItem {
        self.backlog_item_ref(mitigation_index, work, detail, None)
            .into_owned()
    }

    /// A backlog item, its text borrowed; `threat_ids`, when given, holds `threat_id` of every
    /// finding (by index), so that no id is hashed twice.
    fn backlog_item_ref(
        &self,
        mitigation_index: usize,
        work: &Work,
        detail: Detail,
        threat_ids: Option<&[ThreatId]>,
    ) -> BacklogItemRef<'_> {
        let kb = self.engine.kb;
        let full = detail == Detail::Full;
        let mitigation = &kb.mitigations[mitigation_index];
        let places = if full {
            let mut elements = work.places.clone();
            elements.sort_unstable();
            elements.dedup();
            elements
                .iter()
                .map(|element| {
                    let (status, note) = self.statuses.get(mitigation_index, *element as usize);
                    PlaceRef {
                        element: &self.model.elements[*element as usize].id,
                        status,
                        note,
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        let mut threats: Vec<ThreatId> = if full {
            work.findings
                .iter()
                .map(|index| match threat_ids {
                    Some(ids) => ids[*index as usize],
                    None => self.threat_id(&self.collector.findings[*index as usize]),
                })
                .collect()
        } else {
            Vec::new()
        };
        // Byte order is the order of the hex texts.
        threats.sort_unstable();
        threats.dedup();
        let attack_patterns: BTreeSet<&str> = work
            .attack_patterns
            .iter()
            .map(|pattern| kb.attack_patterns[*pattern].id.as_str())
            .collect();
        let references = mitigation
            .references
            .asvs
            .iter()
            .map(|id| crate::catalog::asvs_display(id))
            .chain(mitigation.references.url.iter().cloned())
            .collect();
        BacklogItemRef {
            id: stable_id("M", &mitigation.id),
            mitigation: &mitigation.id,
            title: &mitigation.name,
            description: &mitigation.description,
            implementation: &mitigation.implementation,
            verification: &mitigation.verification,
            priority: priority(work.severity),
            severity: work.severity,
            places,
            threats,
            attack_patterns: attack_patterns.into_iter().collect(),
            events: mitigation
                .events
                .iter()
                .map(|event| event.id.as_str())
                .collect(),
            references,
        }
    }

    fn alignment(&self, assessments: &[Assessment]) -> Alignment {
        let kb = self.engine.kb;
        let findings = &self.collector.findings;
        // Which findings each clause covers.
        let mut covered = vec![false; findings.len()];
        let mut alignment = Alignment::default();
        for story in &self.model.stories {
            let mut story_findings = BTreeSet::new();
            for (position, clause) in story.clauses.iter().enumerate() {
                let mut any = false;
                for (index, finding) in findings.iter().enumerate() {
                    let hit = clause.threats.iter().any(|(pattern, element)| {
                        *pattern == finding.attack_pattern as usize
                            && element.is_none_or(|element| element == finding.element as usize)
                    });
                    if hit {
                        covered[index] = true;
                        story_findings.insert(index);
                        any = true;
                    }
                }
                if !any {
                    alignment.clauses_without_threat.push(ClauseRef {
                        story: format!("{}#{}", story.id, position + 1),
                        clause: clause.text.clone(),
                    });
                }
            }
            let mut open = BTreeSet::new();
            for index in &story_findings {
                let finding = &findings[*index];
                for link in
                    &self.collector.links[finding.links.0 as usize..finding.links.1 as usize]
                {
                    if let Some(mitigation) = self.link_mitigation(*link) {
                        let (status, _) = self.statuses.get(mitigation, finding.element as usize);
                        if matches!(
                            status,
                            ImplementationStatus::Missing | ImplementationStatus::Planned
                        ) {
                            open.insert(kb.mitigations[mitigation].id.clone());
                        }
                    }
                }
            }
            if !open.is_empty() {
                alignment.stories.push(StoryWork {
                    story: story.id.clone(),
                    text: story.text.clone(),
                    threats: story_findings
                        .iter()
                        .map(|index| self.threat_id(&findings[*index]).to_string())
                        .collect(),
                    open_mitigations: open.into_iter().collect(),
                });
            }
        }
        if !self.model.stories.is_empty() {
            let mut uncovered: Vec<(std::cmp::Reverse<u8>, String)> = findings
                .iter()
                .enumerate()
                .filter(|(index, _)| !covered[*index])
                .map(|(index, finding)| {
                    (
                        std::cmp::Reverse(assessments[index].residual),
                        self.threat_id(finding).to_string(),
                    )
                })
                .collect();
            uncovered.sort();
            alignment.threats_without_clause = uncovered.into_iter().map(|(_, id)| id).collect();
        }
        // Security events per component.
        let mut events: BTreeMap<usize, BTreeMap<(String, String), EventAt>> = BTreeMap::new();
        for finding in findings {
            let element = finding.element as usize;
            for link in &self.collector.links[finding.links.0 as usize..finding.links.1 as usize] {
                let Some(mitigation_index) = self.link_mitigation(*link) else {
                    continue;
                };
                let (status, _) = self.statuses.get(mitigation_index, element);
                if status == ImplementationStatus::NotApplicable {
                    continue;
                }
                let mitigation = &kb.mitigations[mitigation_index];
                for event in &mitigation.events {
                    events.entry(element).or_default().insert(
                        (event.id.clone(), mitigation.id.clone()),
                        EventAt {
                            id: event.id.clone(),
                            description: event.description.clone(),
                            mitigation: mitigation.id.clone(),
                            status,
                        },
                    );
                }
            }
        }
        alignment.events = events
            .into_iter()
            .map(|(element, events)| ElementEvents {
                element: self.model.elements[element].id.clone(),
                events: events.into_values().collect(),
            })
            .collect();
        alignment
    }
}

/// The indexes of the `keep` worst findings, worst first: by residual risk, then severity
/// (both highest first), ties in model order, then by attack pattern id (the knowledge base is
/// sorted). Findings arrive in (element, attack pattern) order, so a counting sort on (residual,
/// severity), which keeps that order within each bucket, sorts them in linear time.
fn worst_first(findings: &[Finding], assessments: &[Assessment], keep: usize) -> Vec<u32> {
    let in_model_order = findings.windows(2).all(|pair| {
        (pair[0].element, pair[0].attack_pattern) < (pair[1].element, pair[1].attack_pattern)
    });
    if !in_model_order {
        let key = |index: &u32| {
            let index = *index as usize;
            let finding = &findings[index];
            (
                std::cmp::Reverse(assessments[index].residual),
                std::cmp::Reverse(assessments[index].severity),
                finding.element,
                finding.attack_pattern,
            )
        };
        // Findings are counted in u32 (`Finding`, `Work::findings`).
        let mut order: Vec<u32> = (0..findings.len() as u32).collect();
        order.sort_by_key(key);
        order.truncate(keep);
        return order;
    }
    let levels = Severity::ALL.len();
    let highest = assessments
        .iter()
        .map(|assessment| assessment.residual as usize)
        .max()
        .unwrap_or(0);
    let bucket = |assessment: &Assessment| {
        (highest - assessment.residual as usize) * levels
            + (levels - 1 - assessment.severity as usize)
    };
    // `next[bucket]`: where the bucket's next finding goes.
    let mut next = vec![0usize; (highest + 1) * levels + 1];
    for assessment in assessments {
        next[bucket(assessment) + 1] += 1;
    }
    for position in 1..next.len() {
        next[position] += next[position - 1];
    }
    let mut order = vec![0u32; keep.min(findings.len())];
    for (index, assessment) in assessments.iter().enumerate() {
        let place = &mut next[bucket(assessment)];
        if let Some(slot) = order.get_mut(*place) {
            *slot = index as u32;
        }
        *place += 1;
    }
    order
}

/// The mitigations still to do, in the backlog's order, counted into `totals`.
fn backlog_order(
    kb: &KnowledgeBase,
    work: Vec<Option<Work>>,
    totals: &mut Totals,
) -> Vec<(usize, Work)> {
    let mut work: Vec<(usize, Work)> = work
        .into_iter()
        .enumerate()
        .filter_map(|(mitigation, work)| Some((mitigation, work?)))
        .collect();
    totals.backlog_items = work.len();
    totals.backlog_places = work.iter().map(|(_, work)| work.place_count).sum();
    // By priority; within a priority, the strongest fixes first, then the widest.
    work.sort_by(|(a_mitigation, a), (b_mitigation, b)| {
        priority(a.severity)
            .cmp(&priority(b.severity))
            .then_with(|| b.strength.cmp(&a.strength))
            .then_with(|| b.place_count.cmp(&a.place_count))
            .then_with(|| {
                kb.mitigations[*a_mitigation]
                    .id
                    .cmp(&kb.mitigations[*b_mitigation].id)
            })
    });
    work
}

fn priority(severity: Severity) -> u8 {
    match severity {
        Severity::Critical => 1,
        Severity::High => 2,
        Severity::Medium => 3,
        Severity::Low => 4,
        Severity::Info => 5,
    }
}

pub fn state_name(state: ThreatState) -> &'static str {
    match state {
        ThreatState::Unmitigated => "unmitigated",
        ThreatState::Planned => "planned",
        ThreatState::Accepted => "accepted",
        ThreatState::PartiallyMitigated => "partially-mitigated",
        ThreatState::Mitigated => "mitigated",
    }
}
