//! `erato-plot`: scaling studies from erato's `--json` records.
//!
//! ```text
//! erato-plot collect results/strong-123/*.json > strong.csv      # one CSV row per record
//! erato-plot plot strong.csv --kind strong --out docs/strong      # docs/strong-speedup.png, -efficiency.png
//! ```
//!
//! Strong scaling (fixed range): speedup `T1 / T(c)` against cores `c`, with the ideal line `c`, and
//! parallel efficiency `T1 / (c T(c))`. Weak scaling (fixed range per core): scaled speedup
//! `c T1 / T(c)` and efficiency `T1 / T(c)`. `T` is the median of the runs of one configuration;
//! each number of ranks is its own series, so ranks and threads can be told apart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use driver::record::Record;
use plotters::prelude::*;

#[derive(Parser)]
#[command(
    name = "erato-plot",
    version,
    about = "Scaling-study CSVs and PNG plots from erato --json records"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print one CSV row per JSON record (files written by erato --json-file or --json).
    Collect {
        /// The records.
        #[arg(required = true)]
        records: Vec<PathBuf>,
    },
    /// Draw speedup and efficiency against cores from a CSV made by `collect`.
    Plot {
        /// The CSV.
        csv: PathBuf,
        /// Strong scaling (fixed range) or weak scaling (fixed range per core).
        #[arg(long, value_enum)]
        kind: Kind,
        /// Output prefix: PREFIX-speedup.png and PREFIX-efficiency.png.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Kind {
    Strong,
    Weak,
}

const HEADER: &str =
    "ranks,threads_per_rank,cores,start,stop,primes,seconds_total,seconds_sieve,seconds_reduce";

fn collect(records: &[PathBuf]) -> Result<String, String> {
    let mut csv = String::from(HEADER);
    csv.push('\n');
    for path in records {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let r = Record::from_json(&text)
            .map_err(|e| format!("{}: not an erato JSON record: {e}", path.display()))?;
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            r.ranks,
            r.threads_per_rank,
            r.ranks * r.threads_per_rank,
            r.start,
            r.stop,
            r.primes,
            r.seconds.total,
            r.seconds.sieve,
            r.seconds.reduce
        ));
    }
    Ok(csv)
}

/// Median total seconds per (ranks, threads).
fn medians(csv: &str) -> Result<BTreeMap<(u64, u64), f64>, String> {
    let mut lines = csv.lines();
    if lines.next() != Some(HEADER) {
        return Err(format!(
            "not a CSV from erato-plot collect (expected the header {HEADER})"
        ));
    }
    let mut runs: BTreeMap<(u64, u64), Vec<f64>> = BTreeMap::new();
    for (n, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        let bad = || format!("line {}: {line:?}", n + 2);
        if f.len() != 9 {
            return Err(bad());
        }
        let ranks = f[0].parse().map_err(|_| bad())?;
        let threads = f[1].parse().map_err(|_| bad())?;
        let total: f64 = f[6].parse().map_err(|_| bad())?;
        runs.entry((ranks, threads)).or_default().push(total);
    }
    Ok(runs
        .into_iter()
        .map(|(k, mut v)| {
            v.sort_by(f64::total_cmp);
            let m = if v.len() % 2 == 1 {
                v[v.len() / 2]
            } else {
                (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
            };
            (k, m)
        })
        .collect())
}

/// One chart as a PNG: series of (cores, value) per number of ranks, and a reference line.
fn chart(
    path: &Path,
    title: &str,
    y_label: &str,
    series: &BTreeMap<u64, Vec<(f64, f64)>>,
    ideal: &dyn Fn(f64) -> f64,
) -> Result<(), String> {
    let max_cores = series.values().flatten().map(|p| p.0).fold(1.0, f64::max);
    let max_y = series
        .values()
        .flatten()
        .map(|p| p.1)
        .chain([ideal(max_cores), 1.0])
        .fold(0.0, f64::max)
        * 1.15;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 560)).into_drawing_area();
        let err = |e: DrawingAreaErrorKind<std::io::Error>| e.to_string();
        root.fill(&WHITE).map_err(err)?;
        let mut c = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 26))
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..max_cores * 1.05 + 0.5, 0.0..max_y)
            .map_err(err)?;
        c.configure_mesh()
            .x_desc("cores (ranks x threads per rank)")
            .y_desc(y_label)
            .label_style(("sans-serif", 16))
            .draw()
            .map_err(err)?;
        let steps = 100;
        c.draw_series(LineSeries::new(
            (0..=steps)
                .map(|i| max_cores * i as f64 / steps as f64)
                .map(|x| (x, ideal(x))),
            BLACK.stroke_width(1),
        ))
        .map_err(err)?
        .label("ideal")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK));
        for (i, (ranks, points)) in series.iter().enumerate() {
            let colour = Palette99::pick(i).to_rgba();
            let mut sorted = points.clone();
            sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
            c.draw_series(LineSeries::new(sorted.clone(), colour.stroke_width(2)))
                .map_err(err)?;
            c.draw_series(sorted.iter().map(|&p| Circle::new(p, 5, colour.filled())))
                .map_err(err)?
                .label(if *ranks == 1 {
                    "1 rank".to_string()
                } else {
                    format!("{ranks} ranks")
                })
                .legend(move |(x, y)| Circle::new((x + 10, y), 5, colour.filled()));
        }
        c.configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 16))
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    let mut options = resvg::usvg::Options::default();
    let db = options.fontdb_mut();
    db.load_system_fonts();
    // The chart asks for "sans-serif", which usvg maps to Arial unless told otherwise: use DejaVu
    // Sans when present, else any installed family.
    let families: Vec<String> = db
        .faces()
        .flat_map(|f| f.families.iter().map(|(name, _)| name.clone()))
        .collect();
    let family = families
        .iter()
        .find(|f| f.as_str() == "DejaVu Sans")
        .or_else(|| families.iter().find(|f| f.contains("Sans")))
        .or(families.first())
        .cloned()
        .ok_or("no fonts found for the labels (on Debian: apt-get install fonts-dejavu-core)")?;
    db.set_sans_serif_family(family.clone());
    options.font_family = family;
    let tree = resvg::usvg::Tree::from_str(&svg, &options).map_err(|e| e.to_string())?;
    let size = tree.size().to_int_size();
    let mut pixmap =
        resvg::tiny_skia::Pixmap::new(size.width(), size.height()).ok_or("empty image")?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    pixmap
        .save_png(path)
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn plot(csv_path: &Path, kind: Kind, out: &Path) -> Result<(), String> {
    let csv =
        std::fs::read_to_string(csv_path).map_err(|e| format!("{}: {e}", csv_path.display()))?;
    let medians = medians(&csv)?;
    let t1 = *medians
        .get(&(1, 1))
        .ok_or("the study needs a 1 rank x 1 thread run as its baseline")?;
    let mut speedup: BTreeMap<u64, Vec<(f64, f64)>> = BTreeMap::new();
    let mut efficiency: BTreeMap<u64, Vec<(f64, f64)>> = BTreeMap::new();
    for (&(ranks, threads), &t) in &medians {
        let cores = (ranks * threads) as f64;
        let (s, e) = match kind {
            Kind::Strong => (t1 / t, t1 / (cores * t)),
            Kind::Weak => (cores * t1 / t, t1 / t),
        };
        speedup.entry(ranks).or_default().push((cores, s));
        efficiency
            .entry(ranks)
            .or_default()
            .push((cores, 100.0 * e));
    }
    let name = |suffix: &str| {
        let mut p = out.as_os_str().to_owned();
        p.push(suffix);
        PathBuf::from(p)
    };
    let (title, s_label) = match kind {
        Kind::Strong => ("Strong scaling: speedup", "speedup T1 / T"),
        Kind::Weak => ("Weak scaling: scaled speedup", "scaled speedup c T1 / T"),
    };
    chart(&name("-speedup.png"), title, s_label, &speedup, &|x| x)?;
    let title = if kind == Kind::Strong {
        "Strong scaling: parallel efficiency"
    } else {
        "Weak scaling: parallel efficiency"
    };
    chart(
        &name("-efficiency.png"),
        title,
        "efficiency %",
        &efficiency,
        &|_| 100.0,
    )
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Collect { records } => collect(records).map(|csv| print!("{csv}")),
        Command::Plot { csv, kind, out } => plot(csv, *kind, out),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("erato-plot: error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use driver::record::{RecordMode, Seconds};

    #[test]
    fn collect_then_plot() {
        let scratch = tempfile::tempdir().unwrap(); // removed when dropped
        let dir = scratch.path();
        let mut records = Vec::new();
        for (i, (ranks, threads, total)) in [
            (1, 1, 4.0),
            (1, 2, 2.1),
            (2, 1, 2.2),
            (1, 1, 4.2),
            (2, 2, 1.2),
        ]
        .iter()
        .enumerate()
        {
            let path = dir.join(format!("r{i}.json"));
            let record = Record {
                start: 0,
                stop: 100,
                mode: RecordMode::Count,
                primes: 25,
                twins: None,
                triplets: None,
                quadruplets: None,
                quintuplets: None,
                sextuplets: None,
                gap: None,
                gap_records: None,
                ranks: *ranks,
                threads_per_rank: *threads,
                windows: 0,
                seconds: Seconds {
                    plan: 0.1,
                    sieve: *total,
                    reduce: 0.01,
                    write: 0.0,
                    total: *total,
                },
            };
            std::fs::write(&path, record.to_json() + "\n").unwrap();
            records.push(path);
        }
        let csv = collect(&records).unwrap();
        assert_eq!(csv.lines().count(), 6);
        assert!(
            csv.lines()
                .nth(1)
                .unwrap()
                .starts_with("1,1,1,0,100,25,4,4,0.01"),
            "{csv}"
        );
        let m = medians(&csv).unwrap();
        assert_eq!(m[&(1, 1)], 4.1);
        let csv_path = dir.join("study.csv");
        std::fs::write(&csv_path, &csv).unwrap();
        plot(&csv_path, Kind::Strong, &dir.join("strong")).unwrap();
        let png = std::fs::read(dir.join("strong-speedup.png")).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        assert!(medians("wrong header\n").is_err());
        // Something that is not a record is refused with its name.
        std::fs::write(&records[0], "{\"start\":0}").unwrap();
        let e = collect(&records).unwrap_err();
        assert!(e.contains("r0.json: not an erato JSON record"), "{e}");
    }
}
