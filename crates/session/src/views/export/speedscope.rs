//! speedscope's file format (https://www.speedscope.app/file-format-schema.json):
//! frames shared by every profile, a "sampled" profile per thread or process
//! whose samples are stacks of frame indices, root first, each with a weight.
use super::super::no_stack_label;
use super::Sampled;
use serde_json::{json, Value};

pub(super) fn speedscope(sampled: &Sampled) -> Result<Vec<u8>, serde_json::Error> {
    let stacks = &sampled.stacks;
    // Labels are the frames, by their number; a row without a stack is one frame of its own.
    let no_stack = stacks.label_count();
    let mut frames: Vec<Value> =
        (0..no_stack).map(|id| json!({ "name": &*stacks.label(id as super::super::row_stacks::LabelId).0 })).collect();
    frames.push(json!({ "name": &*no_stack_label() }));
    let unit = if sampled.weighed { "milliseconds" } else { "none" };
    let weight = |ns: i64| if sampled.weighed { ns as f64 / 1e6 } else { 1.0 };
    let profiles: Vec<Value> = sampled
        .groups
        .iter()
        .map(|group| {
            // A sample per row, in time order: speedscope's time-order view replays them.
            let samples: Vec<Vec<u32>> = group
                .samples
                .iter()
                .map(|s| match s.path {
                    Some(path) => stacks.steps(path).to_vec(),
                    None => vec![no_stack as u32],
                })
                .collect();
            let weights: Vec<f64> = group.samples.iter().map(|s| weight(s.weight_ns)).collect();
            let start = group.samples.first().map_or(0.0, |s| s.ts_ns as f64 / 1e6);
            let total: f64 = weights.iter().sum();
            let (start, end) = if sampled.weighed { (start, start + total) } else { (0.0, total) };
            json!({
                "type": "sampled",
                "name": group.name,
                "unit": unit,
                "startValue": start,
                "endValue": end,
                "samples": samples,
                "weights": weights,
            })
        })
        .collect();
    let file = json!({
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "shared": { "frames": frames },
        "profiles": profiles,
        "name": "etwq",
        "activeProfileIndex": 0,
        "exporter": concat!("etwq ", env!("CARGO_PKG_VERSION")),
    });
    serde_json::to_vec(&file)
}
