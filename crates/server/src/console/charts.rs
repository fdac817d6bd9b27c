//! SVG charts for the dashboard, drawn with plotters' SVG backend and inlined in the page (no script needed).

use plotters::prelude::*;

/// One line or bar series.
pub(crate) struct Series<'a> {
    /// Legend text.
    pub label: &'a str,
    /// Colour.
    pub color: RGBColor,
    /// One value per x position.
    pub values: Vec<i64>,
}

/// The console's palette (also in console.css).
pub(crate) const BLUE: RGBColor = RGBColor(37, 99, 235);
/// Alerts.
pub(crate) const RED: RGBColor = RGBColor(220, 38, 38);
/// Cargo.
pub(crate) const AMBER: RGBColor = RGBColor(217, 119, 6);

const SIZE: (u32, u32) = (720, 260);

/// A line chart of daily counts; `days` are `YYYY-MM-DD` labels.
///
/// # Errors
/// When plotters cannot draw (the message is logged by the caller).
pub(crate) fn daily_lines(days: &[String], series: &[Series<'_>]) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|err| err.to_string())?;
        let n = days.len().max(2);
        let max = series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .max()
            .unwrap_or(0)
            .max(1);
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(44)
            .build_cartesian_2d(0..n - 1, 0..max + max / 10 + 1)
            .map_err(|err| err.to_string())?;
        let label_of = |index: &usize| {
            days.get(*index)
                .map(|day| day.get(5..).unwrap_or(day).to_owned())
                .unwrap_or_default()
        };
        chart
            .configure_mesh()
            .x_labels(8)
            .y_labels(6)
            .x_label_formatter(&label_of)
            .light_line_style(RGBColor(238, 238, 238))
            .draw()
            .map_err(|err| err.to_string())?;
        for line in series {
            let color = line.color;
            chart
                .draw_series(LineSeries::new(
                    line.values.iter().enumerate().map(|(i, v)| (i, *v)),
                    color.stroke_width(2),
                ))
                .map_err(|err| err.to_string())?
                .label(line.label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(200, 200, 200))
            .draw()
            .map_err(|err| err.to_string())?;
        root.present().map_err(|err| err.to_string())?;
    }
    Ok(svg)
}

/// Horizontal bars, one per category (site), for one series.
///
/// # Errors
/// When plotters cannot draw.
pub(crate) fn bars(categories: &[String], series: &Series<'_>) -> Result<String, String> {
    let mut svg = String::new();
    {
        let height = 60 + 34 * u32::try_from(categories.len().max(1)).unwrap_or(1);
        let root = SVGBackend::with_string(&mut svg, (SIZE.0, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|err| err.to_string())?;
        let max = series.values.iter().copied().max().unwrap_or(0).max(1);
        let k = categories.len().max(1);
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .caption(series.label, ("sans-serif", 20))
            .x_label_area_size(28)
            .y_label_area_size(200)
            .build_cartesian_2d(0..max + max / 10 + 1, (0..k).into_segmented())
            .map_err(|err| err.to_string())?;
        let label_of = |value: &SegmentValue<usize>| match value {
            SegmentValue::CenterOf(index) => categories.get(*index).cloned().unwrap_or_default(),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .y_labels(k)
            .y_label_formatter(&label_of)
            .label_style(("sans-serif", 15))
            .x_labels(6)
            .light_line_style(RGBColor(238, 238, 238))
            .draw()
            .map_err(|err| err.to_string())?;
        let color = series.color;
        chart
            .draw_series(series.values.iter().enumerate().map(|(index, value)| {
                let mut bar = Rectangle::new(
                    [
                        (0, SegmentValue::Exact(index)),
                        (*value, SegmentValue::Exact(index + 1)),
                    ],
                    color.filled(),
                );
                bar.set_margin(6, 6, 0, 0);
                bar
            }))
            .map_err(|err| err.to_string())?;
        root.present().map_err(|err| err.to_string())?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_svg_without_inline_style_or_script() {
        let days = vec![
            "2026-11-20".to_owned(),
            "2026-11-21".to_owned(),
            "2026-11-22".to_owned(),
        ];
        let svg = daily_lines(
            &days,
            &[Series {
                label: "people",
                color: BLUE,
                values: vec![3, 9, 4],
            }],
        )
        .unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("11-21"), "day labels: {svg}");
        assert!(!svg.contains("<script"));
        let bars_svg = bars(
            &["Manzanillo port".to_owned(), "Otay".to_owned()],
            &Series {
                label: "per site",
                color: AMBER,
                values: vec![5, 2],
            },
        )
        .unwrap();
        assert!(bars_svg.contains("Manzanillo port"), "{bars_svg}");
    }
}
