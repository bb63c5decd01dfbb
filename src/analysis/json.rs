//! The whole report as JSON (schema/report.schema.json), written as it is made: the bytes of
//! `serde_json::to_writer_pretty(out, &analyse(.., Detail::Full))` and a newline, without the
//! report ever being in memory. A large model has millions of threat instances (gigabytes of
//! text): they are rendered in chunks on worker threads, their text borrowed from the knowledge
//! base and the model, while this thread writes the finished chunks in order.

use std::io::{self, Write};
use std::sync::mpsc;

use serde::Serialize;
use serde_json::ser::Formatter;

use super::report::ThreatId;
use super::{Builder, Detail, Header, Prepared, with_builder};
use crate::engine::bind::BoundModel;
use crate::engine::{Engine, Rules};

/// Threat instances per chunk, at most: about 400 KB of text at the benchmark's 800 bytes each
/// (each worker holds up to three chunks; larger chunks were not faster). A small report
/// still takes several chunks, so that every report takes the same path.
const CHUNK: usize = 512;

/// Applies the rules to the model and writes the whole report as JSON to `out`. Memory holds
/// the findings (a few words each), their ids and a few chunks of text, never the report.
/// Returns the number of evaluation errors (listed in the report; the caller decides what
/// they mean for the exit code).
pub fn write_report_json(
    engine: &Engine<'_>,
    rules: &Rules,
    model: &BoundModel,
    header: Header,
    out: &mut dyn Write,
) -> io::Result<usize> {
    with_builder(engine, rules, model, Detail::Full, |builder| {
        let prepared = builder.prepare(rules, Detail::Full);
        let alignment = builder.alignment(&prepared.assessments);
        let provenance = header.provenance.clone();
        let (format, model, pack, tier) = builder.heading(header);
        let threat_ids = threat_ids(builder);
        // A buffer of a concrete type: serde writes a few bytes at a time, and a call through
        // `dyn Write` for each costs more than the bytes. As large as the file's buffer
        // (`workspace::write_atomically_with`), which then passes its chunks through.
        let mut out = io::BufWriter::with_capacity(1 << 20, &mut *out);
        // The fields of `Report`, in its order, as the pretty printer writes a struct.
        out.write_all(b"{")?;
        field(&mut out, true, "format", &format)?;
        field(&mut out, false, "provenance", &provenance)?;
        field(&mut out, false, "model", &model)?;
        field(&mut out, false, "pack", &pack)?;
        field(&mut out, false, "tier", &tier)?;
        key(&mut out, false, "threats")?;
        threats(builder, &prepared, &threat_ids, &mut out)?;
        field(&mut out, false, "totals", &prepared.totals)?;
        let backlog = prepared.work.iter().map(|(mitigation, work)| {
            builder.backlog_item_ref(*mitigation, work, Detail::Full, Some(&threat_ids))
        });
        field(
            &mut out,
            false,
            "backlog",
            &Items(std::cell::Cell::new(Some(backlog))),
        )?;
        field(&mut out, false, "alignment", &alignment)?;
        let activities =
            super::activities::activities(builder.engine, builder.model, &prepared.totals, &tier);
        if let Some(activities) = &activities {
            field(&mut out, false, "activities", activities)?;
        }
        if !prepared.errors.is_empty() {
            field(&mut out, false, "errors", &prepared.errors)?;
        }
        out.write_all(b"\n}\n")?;
        out.flush()?;
        Ok(prepared.errors.len())
    })
}

/// The threat id of every finding, by index, hashed on every core.
fn threat_ids(builder: &Builder<'_, '_>) -> Vec<ThreatId> {
    let findings = &builder.collector.findings;
    let mut ids = vec![ThreatId::default(); findings.len()];
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let share = findings.len().div_ceil(workers).max(1);
    std::thread::scope(|scope| {
        for (ids, findings) in ids.chunks_mut(share).zip(findings.chunks(share)) {
            scope.spawn(move || {
                for (id, finding) in ids.iter_mut().zip(findings) {
                    *id = builder.threat_id(finding);
                }
            });
        }
    });
    ids
}

/// The `threats` array: chunks rendered on worker threads (worker `w` renders chunks `w`,
/// `w + workers`, ...), written here in order. Each worker is at most two chunks ahead, so
/// memory stays a few chunks whatever the report's size.
fn threats(
    builder: &Builder<'_, '_>,
    prepared: &Prepared,
    threat_ids: &[ThreatId],
    out: &mut impl Write,
) -> io::Result<()> {
    let order = &prepared.order;
    if order.is_empty() {
        return out.write_all(b"[]");
    }
    out.write_all(b"[")?;
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let chunk_size = (order.len() / (4 * workers)).clamp(16, CHUNK);
    let chunks: Vec<&[u32]> = order.chunks(chunk_size).collect();
    let workers = workers.clamp(1, chunks.len());
    let render = |chunk: usize, buffer: &mut Vec<u8>| -> io::Result<()> {
        buffer.clear();
        for (offset, index) in chunks[chunk].iter().enumerate() {
            let first = chunk == 0 && offset == 0;
            buffer.extend_from_slice(if first { b"\n    " } else { b",\n    " });
            let index = *index as usize;
            let instance = builder.instance_ref(
                &builder.collector.findings[index],
                &prepared.assessments[index],
                threat_ids[index],
            );
            instance.serialize(&mut serde_json::Serializer::with_formatter(
                &mut *buffer,
                Pretty::at(2),
            ))?;
        }
        Ok(())
    };
    let render = &render;
    std::thread::scope(|scope| {
        let mut finished = Vec::new();
        let mut returned = Vec::new();
        for worker in 0..workers {
            let (send, receive) = mpsc::sync_channel::<io::Result<Vec<u8>>>(1);
            let (give_back, take_back) = mpsc::channel::<Vec<u8>>();
            finished.push(receive);
            returned.push(give_back);
            let count = chunks.len();
            scope.spawn(move || {
                for chunk in (worker..count).step_by(workers) {
                    // Buffers come back once written: no fresh pages for every chunk.
                    let mut buffer = take_back.try_recv().unwrap_or_default();
                    let rendered = render(chunk, &mut buffer).map(|()| buffer);
                    if send.send(rendered).is_err() {
                        return; // The writer stopped: an error there.
                    }
                }
            });
        }
        let mut result = Ok(());
        for chunk in 0..chunks.len() {
            let worker = chunk % workers;
            let written = match finished[worker].recv() {
                Ok(rendered) => rendered.and_then(|buffer| {
                    out.write_all(&buffer)?;
                    Ok(buffer)
                }),
                Err(_) => Err(io::Error::other("a report worker stopped")),
            };
            match written {
                Ok(buffer) => {
                    let _ = returned[worker].send(buffer);
                }
                Err(error) => {
                    result = Err(error);
                    break;
                }
            }
        }
        // Dropping the receivers stops the workers if the writing failed.
        drop(finished);
        result
    })?;
    out.write_all(b"\n  ]")
}

/// A top-level field: its key, then its value as the pretty printer writes it at depth 1.
fn field(out: &mut impl Write, first: bool, name: &str, value: &impl Serialize) -> io::Result<()> {
    key(out, first, name)?;
    value.serialize(&mut serde_json::Serializer::with_formatter(
        &mut *out,
        Pretty::at(1),
    ))?;
    Ok(())
}

/// A top-level key (the report's keys need no escaping).
fn key(out: &mut impl Write, first: bool, name: &str) -> io::Result<()> {
    out.write_all(if first { b"\n  \"" } else { b",\n  \"" })?;
    out.write_all(name.as_bytes())?;
    out.write_all(b"\": ")
}

/// Serializes the items of an iterator as an array, each made when it is written.
struct Items<I>(std::cell::Cell<Option<I>>);

impl<I: Iterator<Item = T>, T: Serialize> Serialize for Items<I> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.take() {
            Some(items) => serializer.collect_seq(items),
            None => serializer.collect_seq(std::iter::empty::<T>()),
        }
    }
}

/// `serde_json::ser::PrettyFormatter` (two spaces) starting at a given depth, so that a value
/// rendered on its own is byte for byte what the pretty printer writes at that place.
struct Pretty {
    depth: usize,
    has_value: bool,
}

impl Pretty {
    fn at(depth: usize) -> Pretty {
        Pretty {
            depth,
            has_value: false,
        }
    }

    fn indent<W: ?Sized + Write>(&self, writer: &mut W) -> io::Result<()> {
        const SPACES: &[u8; 64] =
            b"                                                                ";
        let mut width = self.depth * 2;
        while width > 0 {
            let step = width.min(SPACES.len());
            writer.write_all(&SPACES[..step])?;
            width -= step;
        }
        Ok(())
    }

    fn open<W: ?Sized + Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        writer.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            writer.write_all(b"\n")?;
            self.indent(writer)?;
        }
        writer.write_all(bracket)
    }

    fn item<W: ?Sized + Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        writer.write_all(if first { b"\n" } else { b",\n" })?;
        self.indent(writer)
    }
}

impl Formatter for Pretty {
    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open(writer, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.item(writer, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open(writer, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.item(writer, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}
