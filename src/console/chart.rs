//! Price history charts, rendered on the server as SVG.
//!
//! [`price_chart`] draws one product's observed prices with `plotters` (its
//! SVG backend only, no font file: the browser lays the text out) and returns
//! one `<svg>` element with a fixed `viewBox` and no `width`/`height`, so
//! that CSS (`width: 100%`) scales it.
//!
//! What the SVG holds, for the page and its tests to rely on:
//! - the root `<svg class="price-chart" role="img">` carries
//!   `data-observations` (points given) and `data-markers` (markers drawn);
//! - each marker is a `<circle>` inside `<g class="observations">`, with
//!   `data-at` (RFC 3339), `data-price-minor` and a `<title>` such as
//!   `2026-01-05 — 89,00 €`; no other `<circle>` is drawn;
//! - one marker per observation while there are no more observations than
//!   pixel columns in the plot (about 880, so two years of daily prices);
//!   beyond that at most one marker per column, preferring a price change,
//!   while the step line stays exact;
//! - no `style` attribute (the console's CSP is `style-src 'self'`): colours
//!   are presentation attributes (`fill`, `stroke`, `opacity`);
//! - no script.
//!
//! An empty series is refused with [`ChartError::NoObservation`]: the page
//! says so in words rather than drawing empty axes.

use chrono::{DateTime, Duration, Utc};
use plotters::prelude::*;
use quick_xml::escape::escape;
use std::fmt::Write as _;

use crate::domain::{Currency, Money};

/// Width of the `viewBox`.
const WIDTH: u32 = 960;
/// Height of the `viewBox`.
const HEIGHT: u32 = 400;
/// Height of the legend strip below the plot.
const LEGEND_HEIGHT: u32 = 48;
const FONT: &str = "sans-serif";

const PRICE: RGBColor = RGBColor(0x1f, 0x4e, 0x9a);
const REFERENCE: RGBColor = RGBColor(0xb0, 0x3a, 0x2e);
const SALES: RGBColor = RGBColor(0xf2, 0xc1, 0x4e);
const WINDOW: RGBColor = RGBColor(0x6f, 0xb3, 0xd2);
const INK: RGBColor = RGBColor(0x33, 0x33, 0x33);

/// One observed price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PricePoint {
    /// When the price was observed.
    pub at: DateTime<Utc>,
    /// The price shown, in minor units (cents).
    pub price_minor: i64,
    /// The former price displayed beside it, if any, in minor units.
    pub reference_minor: Option<i64>,
}

/// The legend's words, translated by the caller.
#[derive(Debug, Clone, Copy)]
pub struct ChartLabels<'a> {
    /// Accessible name of the whole chart ("Historique des prix").
    pub title: &'a str,
    /// The observed price series ("Prix observé").
    pub price: &'a str,
    /// The reference price line ("Prix de référence"); also used in a
    /// marker's title when the observation displayed a former price.
    pub reference: &'a str,
    /// The legal sales periods ("Soldes").
    pub sales_period: &'a str,
    /// The 30-day prior-price window ("Fenêtre de 30 jours").
    pub window: &'a str,
}

/// What to draw.
#[derive(Debug, Clone, Copy)]
pub struct ChartInput<'a> {
    /// Observations, oldest first.
    pub points: &'a [PricePoint],
    /// ISO 4217 code of every price ("EUR").
    pub currency: &'a str,
    /// Legal sales periods overlapping the range, shaded; clipped to it.
    pub sales_periods: &'a [(DateTime<Utc>, DateTime<Utc>)],
    /// The 30-day prior-price window, shaded in another colour; the range
    /// widens to show it whole.
    pub window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// The reference (former) price, drawn as a horizontal dashed line.
    pub reference_minor: Option<i64>,
    /// The legend's words.
    pub labels: ChartLabels<'a>,
}

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// The series is empty: there is nothing to draw.
    #[error("no observation to chart")]
    NoObservation,
    /// The currency code is not one we know how to write.
    #[error("unknown currency `{0}`")]
    Currency(String),
    /// Observations are not in chronological order.
    #[error("observations are not oldest first")]
    Unordered,
    /// `plotters` failed while drawing.
    #[error("drawing the chart failed: {0}")]
    Draw(String),
}

fn draw_err<E: std::fmt::Display>(e: E) -> ChartError {
    ChartError::Draw(e.to_string())
}

/// A marker, placed in viewBox pixels.
struct Marker {
    x: i32,
    y: i32,
    index: usize,
}

/// The ranges the plot covers.
struct Extent {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    low: f64,
    high: f64,
}

/// Renders the price history as one `<svg>` element (see the module
/// documentation for its structure).
pub fn price_chart(input: &ChartInput) -> Result<String, ChartError> {
    if input.points.is_empty() {
        return Err(ChartError::NoObservation);
    }
    if input.points.windows(2).any(|w| w[1].at < w[0].at) {
        return Err(ChartError::Unordered);
    }
    let currency =
        Currency::new(input.currency).map_err(|_| ChartError::Currency(input.currency.into()))?;
    let scale = 10f64.powi(currency.exponent() as i32);
    let extent = extent(input, scale);
    let mut body = String::with_capacity(64 * 1024);
    let markers = draw(input, currency, scale, &extent, &mut body)?;
    Ok(finish(input, currency, &body, &markers))
}

fn extent(input: &ChartInput, scale: f64) -> Extent {
    let first = input.points[0].at;
    let last = input.points[input.points.len() - 1].at;
    let (mut start, mut end) = match input.window {
        Some((a, b)) => (first.min(a), last.max(b)),
        None => (first, last),
    };
    if end - start < Duration::days(2) {
        start -= Duration::days(1);
        end += Duration::days(1);
    }
    let prices = input
        .points
        .iter()
        .map(|p| p.price_minor)
        .chain(input.reference_minor);
    let (lo, hi) = prices.fold((i64::MAX, i64::MIN), |(lo, hi), p| (lo.min(p), hi.max(p)));
    let (lo, hi) = (lo as f64 / scale, hi as f64 / scale);
    let pad = ((hi - lo) * 0.08).max(hi.abs() * 0.02).max(1.0 / scale);
    Extent {
        start,
        end,
        low: (lo - pad).max(if lo >= 0.0 { 0.0 } else { f64::MIN }),
        high: hi + pad,
    }
}

/// Draws everything but the markers with `plotters`, and returns where the
/// markers go.
fn draw(
    input: &ChartInput,
    currency: Currency,
    scale: f64,
    ext: &Extent,
    buf: &mut String,
) -> Result<Vec<Marker>, ChartError> {
    let root = SVGBackend::with_string(buf, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err)?;
    let (upper, lower) = root.split_vertically(HEIGHT - LEGEND_HEIGHT);
    let y_label = |v: &f64| Money::new((v * scale).round() as i64, currency).display_fr();
    let mut chart = ChartBuilder::on(&upper)
        .margin(12)
        .margin_right(40)
        .x_label_area_size(40)
        .y_label_area_size(118)
        .build_cartesian_2d(ext.start..ext.end, ext.low..ext.high)
        .map_err(draw_err)?;

    let clip = |(a, b): &(DateTime<Utc>, DateTime<Utc>)| {
        let (a, b) = ((*a).max(ext.start), (*b).min(ext.end));
        (a < b).then_some((a, b))
    };
    let band = |(a, b): (DateTime<Utc>, DateTime<Utc>), colour: RGBColor, alpha: f64| {
        Rectangle::new([(a, ext.high), (b, ext.low)], colour.mix(alpha).filled())
    };
    let sales: Vec<_> = input.sales_periods.iter().filter_map(clip).collect();
    chart
        .draw_series(sales.iter().map(|p| band(*p, SALES, 0.25)))
        .map_err(draw_err)?;
    if let Some(w) = input.window.as_ref().and_then(clip) {
        chart
            .draw_series(std::iter::once(band(w, WINDOW, 0.22)))
            .map_err(draw_err)?;
    }

    chart
        .configure_mesh()
        .x_labels(5)
        .y_labels(6)
        .x_label_formatter(&|d| d.format("%Y-%m-%d").to_string())
        .y_label_formatter(&y_label)
        .label_style((FONT, 24).into_font().color(&INK))
        .axis_style(INK.mix(0.6))
        .bold_line_style(INK.mix(0.12))
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(draw_err)?;

    if let Some(r) = input.reference_minor {
        let y = r as f64 / scale;
        chart
            .draw_series(DashedLineSeries::new(
                [(ext.start, y), (ext.end, y)],
                7,
                5,
                REFERENCE.stroke_width(2),
            ))
            .map_err(draw_err)?;
    }
    chart
        .draw_series(LineSeries::new(
            steps(input.points, scale),
            PRICE.stroke_width(2),
        ))
        .map_err(draw_err)?;

    let markers = place_markers(input.points, scale, |p| chart.backend_coord(p));
    let columns = chart.plotting_area().get_pixel_range().0;
    let markers = thin(markers, input.points, columns.len());
    legend(&lower, input, !sales.is_empty())?;
    root.present().map_err(draw_err)?;
    Ok(markers)
}

/// The step line: each price holds until the next observation. Runs of one
/// price collapse into one segment, so the line stays exact and short.
fn steps(points: &[PricePoint], scale: f64) -> Vec<(DateTime<Utc>, f64)> {
    let mut out = Vec::with_capacity(points.len().min(1024) * 2);
    let mut prev: Option<&PricePoint> = None;
    for p in points {
        let y = p.price_minor as f64 / scale;
        match prev {
            None => out.push((p.at, y)),
            Some(q) if q.price_minor != p.price_minor => {
                out.push((p.at, q.price_minor as f64 / scale));
                out.push((p.at, y));
            }
            Some(_) => {}
        }
        prev = Some(p);
    }
    if let (Some(p), Some(&(at, _))) = (points.last(), out.last()) {
        if at != p.at {
            out.push((p.at, p.price_minor as f64 / scale));
        }
    }
    out
}

fn place_markers(
    points: &[PricePoint],
    scale: f64,
    coord: impl Fn(&(DateTime<Utc>, f64)) -> (i32, i32),
) -> Vec<Marker> {
    points
        .iter()
        .enumerate()
        .map(|(index, p)| {
            let (x, y) = coord(&(p.at, p.price_minor as f64 / scale));
            Marker { x, y, index }
        })
        .collect()
}

/// Keeps every marker when they fit one per pixel column; otherwise one per
/// column: the first price change in it, else its first observation.
fn thin(markers: Vec<Marker>, points: &[PricePoint], columns: usize) -> Vec<Marker> {
    if markers.len() <= columns {
        return markers;
    }
    let changed = |i: usize| i == 0 || points[i].price_minor != points[i - 1].price_minor;
    let mut kept: Vec<Marker> = Vec::with_capacity(columns + 1);
    let mut kept_changed = false;
    for m in markers {
        match kept.last_mut() {
            Some(last) if last.x == m.x => {
                if !kept_changed && changed(m.index) {
                    *last = m;
                    kept_changed = true;
                }
            }
            _ => {
                kept_changed = changed(m.index);
                kept.push(m);
            }
        }
    }
    kept
}

/// The legend strip: a swatch and a word for each thing drawn.
fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    input: &ChartInput,
    has_sales: bool,
) -> Result<(), ChartError> {
    // Large enough to read once the chart is scaled to a phone's width.
    let font = (FONT, 24).into_font().color(&INK);
    let labels = &input.labels;
    let mut items: Vec<(&str, RGBColor, bool)> = vec![(labels.price, PRICE, false)];
    if input.reference_minor.is_some() {
        items.push((labels.reference, REFERENCE, false));
    }
    if has_sales {
        items.push((labels.sales_period, SALES, true));
    }
    if input.window.is_some() {
        items.push((labels.window, WINDOW, true));
    }
    let mut x = 90;
    let y = (LEGEND_HEIGHT / 2) as i32;
    for (text, colour, band) in items {
        let swatch = if band {
            Rectangle::new([(x, y - 9), (x + 26, y + 9)], colour.mix(0.45).filled())
        } else {
            Rectangle::new([(x, y - 2), (x + 26, y + 2)], colour.filled())
        };
        area.draw(&swatch).map_err(draw_err)?;
        let pos = (x + 32, y - 11);
        area.draw_text(text, &font, pos).map_err(draw_err)?;
        let (w, _) = area.estimate_text_size(text, &font).map_err(draw_err)?;
        x += 32 + w as i32 + 32;
    }
    Ok(())
}

/// Rewrites plotters' root tag (scalable, labelled) and adds the markers.
fn finish(input: &ChartInput, currency: Currency, body: &str, markers: &[Marker]) -> String {
    let inner = body
        .find('>')
        .map(|i| &body[i + 1..])
        .unwrap_or(body)
        .trim_end();
    let inner = inner.strip_suffix("</svg>").unwrap_or(inner);
    let mut out = String::with_capacity(body.len() + markers.len() * 160 + 512);
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"price-chart\" role=\"img\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" aria-label=\"{}\" data-observations=\"{}\" \
         data-markers=\"{}\">\n<title>{}</title>\n",
        escape(input.labels.title),
        input.points.len(),
        markers.len(),
        escape(input.labels.title),
    );
    out.push_str(inner);
    // Dense markers touch each other: smaller, and without the white ring
    // that would wash the line out.
    let (r, ring) = if markers.len() > 200 {
        (1.6, "none")
    } else {
        (3.5, "#ffffff")
    };
    let _ = writeln!(
        out,
        "<g class=\"observations\" fill=\"#{:02x}{:02x}{:02x}\" stroke=\"{ring}\" stroke-width=\"1\">",
        PRICE.0, PRICE.1, PRICE.2
    );
    let money = |minor| Money::new(minor, currency).display_fr();
    for m in markers {
        let p = &input.points[m.index];
        let mut title = format!("{} — {}", p.at.format("%Y-%m-%d"), money(p.price_minor));
        if let Some(r) = p.reference_minor {
            let _ = write!(title, " ({} {})", input.labels.reference, money(r));
        }
        let _ = writeln!(
            out,
            "<circle cx=\"{}\" cy=\"{}\" r=\"{r}\" data-at=\"{}\" data-price-minor=\"{}\">\
             <title>{}</title></circle>",
            m.x,
            m.y,
            p.at.to_rfc3339(),
            p.price_minor,
            escape(title.as_str()),
        );
    }
    out.push_str("</g>\n</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use quick_xml::events::Event;

    const LABELS: ChartLabels<'static> = ChartLabels {
        title: "Historique des prix",
        price: "Prix observé",
        reference: "Prix de référence",
        sales_period: "Soldes",
        window: "Fenêtre de 30 jours",
    };

    fn day(n: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 1, 1, 9, 0, 0).unwrap() + Duration::days(n)
    }

    fn daily(n: usize) -> Vec<PricePoint> {
        (0..n)
            .map(|i| PricePoint {
                at: day(i as i64),
                price_minor: 8900 + ((i / 20) % 5) as i64 * 500,
                reference_minor: (i % 40 == 0).then_some(9900),
            })
            .collect()
    }

    fn input<'a>(
        points: &'a [PricePoint],
        sales: &'a [(DateTime<Utc>, DateTime<Utc>)],
    ) -> ChartInput<'a> {
        ChartInput {
            points,
            currency: "EUR",
            sales_periods: sales,
            window: Some((day(10), day(40))),
            reference_minor: Some(9900),
            labels: LABELS,
        }
    }

    /// Parses the whole document; returns the element names met.
    fn elements(svg: &str) -> Vec<String> {
        let mut reader = quick_xml::Reader::from_str(svg);
        let mut names = Vec::new();
        loop {
            match reader.read_event().expect("well-formed XML") {
                Event::Start(e) | Event::Empty(e) => {
                    assert!(
                        e.attributes()
                            .all(|a| a.expect("attribute").key.as_ref() != b"style"),
                        "style attribute in {:?}",
                        String::from_utf8_lossy(e.name().as_ref())
                    );
                    names.push(String::from_utf8_lossy(e.name().as_ref()).into_owned());
                }
                Event::Eof => break,
                _ => {}
            }
        }
        names
    }

    #[test]
    fn one_marker_per_observation_and_well_formed() {
        let points = daily(45);
        let sales = [(day(-5), day(12))];
        let svg = price_chart(&input(&points, &sales)).unwrap();
        let names = elements(&svg);
        assert_eq!(names[0], "svg");
        assert_eq!(names.iter().filter(|n| *n == "circle").count(), 45);
        assert!(svg.contains("data-markers=\"45\""));
        assert!(
            svg.contains(
                "<title>2025-01-01 — 89,00\u{a0}€ (Prix de référence 99,00\u{a0}€)</title>"
            )
        );
        assert!(!svg.to_lowercase().contains("<script"));
        let root = &svg[..svg.find('>').unwrap()];
        assert!(!root.contains(" width="), "the size is left to CSS: {root}");
        if let Ok(path) = std::env::var("VIGIE_CHART_DUMP") {
            std::fs::write(path, &svg).unwrap();
        }
    }

    #[test]
    fn labels_and_axes_are_written_as_text() {
        let points = daily(45);
        let sales = [(day(-5), day(12))];
        let svg = price_chart(&input(&points, &sales)).unwrap();
        for word in [
            "Prix observé",
            "Prix de référence",
            "Soldes",
            "Fenêtre de 30 jours",
        ] {
            assert!(
                svg.contains(&format!(">\n{word}\n</text>")),
                "{word} missing"
            );
        }
        assert!(svg.contains("2025-01-"), "date labels");
        assert!(svg.contains("€\n</text>"), "price labels");
    }

    #[test]
    fn legend_words_are_escaped() {
        let points = daily(3);
        let mut i = input(&points, &[]);
        i.labels.price = "<b>&\"prix\"";
        i.labels.title = "a<b";
        let svg = price_chart(&i).unwrap();
        elements(&svg);
        assert!(!svg.contains("<b>"));
    }

    #[test]
    fn empty_series_is_refused() {
        assert!(matches!(
            price_chart(&input(&[], &[])),
            Err(ChartError::NoObservation)
        ));
    }

    #[test]
    fn single_point_and_flat_series_draw() {
        let one = daily(1);
        let mut i = input(&one, &[]);
        i.window = None;
        i.reference_minor = None;
        let svg = price_chart(&i).unwrap();
        assert_eq!(elements(&svg).iter().filter(|n| *n == "circle").count(), 1);
    }

    #[test]
    fn two_years_of_daily_prices_keep_every_marker() {
        let points = daily(730);
        let sales = [
            (day(5), day(30)),
            (day(180), day(210)),
            (day(370), day(395)),
        ];
        let svg = price_chart(&input(&points, &sales)).unwrap();
        assert_eq!(
            elements(&svg).iter().filter(|n| *n == "circle").count(),
            730
        );
    }

    #[test]
    fn more_points_than_pixels_thin_the_markers_only() {
        let points: Vec<_> = (0..5000)
            .map(|i| PricePoint {
                at: day(0) + Duration::hours(i),
                price_minor: 1000 + (i / 100) % 3,
                reference_minor: None,
            })
            .collect();
        let svg = price_chart(&input(&points, &[])).unwrap();
        let circles = elements(&svg).iter().filter(|n| *n == "circle").count();
        assert!(circles < 900 && circles > 500, "{circles}");
        assert!(svg.contains(&format!("data-markers=\"{circles}\"")));
        // Every price change is still a step of the line.
        assert_eq!(steps(&points, 100.0).len(), 2 + 2 * 49);
    }

    #[test]
    fn steps_hold_each_price_until_the_next_observation() {
        let p = |d, c| PricePoint {
            at: day(d),
            price_minor: c,
            reference_minor: None,
        };
        let s = steps(&[p(0, 100), p(1, 100), p(2, 80), p(3, 80)], 100.0);
        assert_eq!(
            s,
            vec![(day(0), 1.0), (day(2), 1.0), (day(2), 0.8), (day(3), 0.8)]
        );
    }

    #[test]
    fn unordered_or_unknown_currency_is_refused() {
        let mut points = daily(3);
        points.swap(0, 2);
        assert!(matches!(
            price_chart(&input(&points, &[])),
            Err(ChartError::Unordered)
        ));
        let points = daily(3);
        let mut i = input(&points, &[]);
        i.currency = "euro";
        assert!(matches!(price_chart(&i), Err(ChartError::Currency(_))));
    }
}
