//! Charts as images, drawn by plotters: SVG by its SVG backend, PNG by its
//! bitmap backend, encoded with png. Text in a PNG is drawn by ab_glyph from
//! DejaVu Sans, embedded here (fonts/, Bitstream Vera licence), so an image
//! looks the same on a machine without fonts.
use super::{nice_top, seconds_label, Bars, Drawing, Series, Unit, OTHER_KEY};
use columnar::DataTable;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

const SIZE: (u32, u32) = (960, 440);
const FONT: &[u8] = include_bytes!("../../fonts/DejaVuSans.ttf");
/// The series' colours (Tableau 10): distinct, and readable for most colour blindness.
const COLOURS: [RGBColor; 8] = [
    RGBColor(78, 121, 167),
    RGBColor(242, 142, 43),
    RGBColor(225, 87, 89),
    RGBColor(89, 161, 79),
    RGBColor(176, 122, 161),
    RGBColor(237, 201, 72),
    RGBColor(118, 183, 178),
    RGBColor(156, 117, 95),
];
const OTHER_COLOUR: RGBColor = RGBColor(170, 170, 170);

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // The font is ours and valid: a failure would only leave text undrawn.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// The chart or histogram `table` as an SVG document.
pub fn svg(table: &DataTable) -> Result<String, String> {
    let drawing = Drawing::of(table).ok_or("not a chart or histogram result")?;
    register_font();
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, SIZE).into_drawing_area();
        draw(&drawing, &root)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(text)
}

/// Writes `table` as an image, SVG or PNG by the file's extension; the bytes written.
pub fn write_image(table: &DataTable, path: &Path) -> Result<usize, String> {
    let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let bytes = match extension.as_deref() {
        Some("svg") => svg(table)?.into_bytes(),
        Some("png") => png(table)?,
        _ => return Err(format!("{}: the image must end in .svg or .png", path.display())),
    };
    std::fs::write(path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(bytes.len())
}

fn png(table: &DataTable) -> Result<Vec<u8>, String> {
    let drawing = Drawing::of(table).ok_or("not a chart or histogram result")?;
    register_font();
    let (width, height) = SIZE;
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area();
        draw(&drawing, &root)?;
        root.present().map_err(|e| e.to_string())?;
    }
    let mut encoded = Vec::new();
    let mut encoder = ::png::Encoder::new(&mut encoded, width, height);
    encoder.set_color(::png::ColorType::Rgb);
    encoder.set_depth(::png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(&pixels).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(encoded)
}

fn draw<DB: DrawingBackend>(drawing: &Drawing, root: &DrawingArea<DB, Shift>) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    match drawing {
        Drawing::Series(series) => draw_series(series, root).map_err(|e| e.to_string()),
        Drawing::Bars(bars) => draw_bars(bars, root).map_err(|e| e.to_string()),
    }
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Legend items as (colour, text), laid out in rows under the chart: a
/// legend inside the plot would hide bars that reach the top.
fn draw_legend<DB: DrawingBackend>(items: &[(RGBColor, String)], area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
    let (width, _) = area.dim_in_pixel();
    let (mut x, mut y) = (70i32, 6i32);
    for (colour, text) in items {
        // About 8 px a character at 14 px: enough to keep items apart.
        let item_width = 24 + 8 * text.chars().count() as i32 + 18;
        if x > 70 && x + item_width > width as i32 {
            x = 70;
            y += 22;
        }
        area.draw(&Rectangle::new([(x, y + 2), (x + 14, y + 16)], colour.filled()))?;
        area.draw(&Text::new(text.clone(), (x + 20, y + 2), ("sans-serif", 14)))?;
        x += item_width;
    }
    Ok(())
}

fn draw_series<DB: DrawingBackend>(series: &Series, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
    let legend_rows = 1 + series.keys.iter().map(|k| k.chars().count() + 12).sum::<usize>() * 8 / 800;
    let (_, height) = root.dim_in_pixel();
    let (root, legend) = root.split_vertically(height.saturating_sub(12 + 22 * legend_rows as u32));
    let root = &root;
    let totals = series.totals();
    let top = nice_top(totals.iter().copied().fold(0.0, f64::max));
    let scale = if series.unit == Unit::Nanoseconds { 1e-6 } else { 1.0 };
    let end = series.starts.last().map_or(1, |s| s + series.width_ns);
    let seconds = |ns: i64| ns as f64 / 1e9;
    let mut chart = ChartBuilder::on(root)
        .caption(&series.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(seconds(series.starts[0])..seconds(end), 0.0..top * scale)?;
    let step = series.width_ns;
    let y_desc = match series.unit {
        Unit::Percent => "% of all cores",
        Unit::Nanoseconds => "ms",
        Unit::Number => "",
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_desc("time since the trace start")
        .y_desc(y_desc)
        .x_label_formatter(&|x| seconds_label((x * 1e9) as i64, step.max(100_000_000)))
        .y_label_formatter(&|y| super::terminal::trim_number(*y))
        .light_line_style(WHITE)
        .draw()?;
    let mut base = vec![0.0; series.starts.len()];
    let mut items = Vec::new();
    for (index, key) in series.keys.iter().enumerate() {
        let colour = if key == OTHER_KEY { OTHER_COLOUR } else { COLOURS[index % COLOURS.len()] };
        let bars: Vec<Rectangle<(f64, f64)>> = series
            .starts
            .iter()
            .enumerate()
            .filter(|(bucket, _)| series.values[index][*bucket] > 0.0)
            .map(|(bucket, &start)| {
                let low = base[bucket] * scale;
                let high = (base[bucket] + series.values[index][bucket]) * scale;
                Rectangle::new([(seconds(start), low), (seconds(start + step), high)], colour.filled())
            })
            .collect();
        for (sum, value) in base.iter_mut().zip(&series.values[index]) {
            *sum += value;
        }
        chart.draw_series(bars)?;
        items.push((colour, format!("{key} {}", series.summary(index))));
    }
    draw_legend(&items, &legend)
}

fn draw_bars<DB: DrawingBackend>(bars: &Bars, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
    let top = nice_top(bars.counts.iter().copied().fold(0.0, f64::max));
    let count = bars.labels.len() as u32;
    let mut chart = ChartBuilder::on(root)
        .caption(&bars.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d((0..count).into_segmented(), 0.0..top)?;
    // "100us-500us": the buckets' labels, short enough to sit side by side.
    let labels: Vec<String> = bars.labels.iter().map(|l| l.replace(' ', "")).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(bars.labels.len() + 1)
        .y_desc("count")
        .y_label_formatter(&|y| super::terminal::trim_number(*y))
        .light_line_style(WHITE)
        .x_label_formatter(&|value| match value {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
            SegmentValue::Last => String::new(),
        })
        .draw()?;
    chart.draw_series(bars.counts.iter().enumerate().map(|(i, &c)| {
        let i = i as u32;
        let mut bar =
            Rectangle::new([(SegmentValue::Exact(i), 0.0), (SegmentValue::Exact(i + 1), c)], COLOURS[0].filled());
        bar.set_margin(0, 0, 4, 4);
        bar
    }))?;
    Ok(())
}
