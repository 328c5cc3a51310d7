//! # erato-python
//!
//! The Rust half of erato's Python module, `erato._erato`; the package `erato` (in `python/`)
//! re-exports it with docstrings and type stubs. Every function reads its arguments the way the
//! `erato` command line does (same one-line messages), then runs [`driver::query`] on an
//! [`Engine`] with the GIL released, on a worker thread that the calling thread watches: every
//! `POLL` it takes the GIL back just long enough to run Python's signal handlers, and on Ctrl-C
//! it sets the query's cancel flag and raises `KeyboardInterrupt` once the running chunks finish.
//!
//! No MPI here: a Python program that wants ranks brings mpi4py and calls this module on each.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use driver::engine::Engine;
use driver::expr::{ExprError, MAX_TEXT};
use driver::query::{self, ListError, NthPrimeError, PrimeChunks};
use numpy::{PyArray1, PyArrayMethods};
use pyo3::exceptions::{PyMemoryError, PyOverflowError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyFloat, PyInt, PyString, PyTuple, PyType};

/// How often a waiting call looks for Ctrl-C.
const POLL: Duration = Duration::from_millis(50);

/// Most threads a call may ask for, as on the command line.
const MAX_THREADS: u64 = 1 << 16;

/// Whether sieving `[lo, hi]` may take long enough to need a watcher for Ctrl-C. Short ones run on
/// the calling thread, where a watcher thread would cost more than the sieving: fewer than 2^22
/// numbers, and low enough (below 2^40) that the sieving primes up to `sqrt(hi)` are quick too.
fn may_take_long(lo: u64, hi: u64) -> bool {
    hi - lo >= 1 << 22 || hi >= 1 << 40
}

/// `erato.ArgumentTypeError`: an argument of the wrong type. Both a `TypeError` (Python's
/// convention) and a `ValueError` (so that `except ValueError` catches every bad argument).
static ARGUMENT_TYPE_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn argument_type_error(py: Python<'_>, message: String) -> PyErr {
    match ARGUMENT_TYPE_ERROR.get(py) {
        Some(class) => PyErr::from_type(class.bind(py).clone(), message),
        None => PyTypeError::new_err(message),
    }
}

/// Reads a bound: an `int` (or anything with `__index__`, such as NumPy's integers), a `float`
/// holding a whole number (`1e9`), or a string in the command line's syntax (`"1e10"`,
/// `"2^64-1"`). Errors carry the command line's messages: `STOP "1e20" is above ...`.
fn read_u64(name: &str, value: &Bound<'_, PyAny>) -> PyResult<u64> {
    let py = value.py();
    let from_expr = |text: String, e: ExprError| -> PyErr {
        let message = format!("{name} {text} {e}");
        match e {
            ExprError::TooLarge | ExprError::Overflow => PyOverflowError::new_err(message),
            _ => PyValueError::new_err(message),
        }
    };
    if let Ok(text) = value.cast::<PyString>() {
        let text = text.to_str()?;
        return driver::expr::parse_u64(text).map_err(|e| from_expr(format!("{text:?}"), e));
    }
    // The number as an int, and as the caller wrote it (a float's repr, not the int's).
    let (int, shown) = if let Ok(float) = value.cast::<PyFloat>() {
        let x = float.value();
        let shown = float.repr()?.to_string();
        if x.is_nan() || (x.is_finite() && x.fract() != 0.0) {
            return Err(from_expr(shown, ExprError::Fraction));
        }
        if x.is_infinite() && x < 0.0 {
            return Err(from_expr(shown, ExprError::Negative));
        }
        if x.is_infinite() {
            return Err(from_expr(shown, ExprError::TooLarge));
        }
        // A whole float converts to int exactly.
        (float.call_method0("__int__")?.cast_into::<PyInt>()?, shown)
    } else {
        let index = py.import("operator")?.getattr("index")?;
        match index.call1((value,)) {
            Ok(int) => {
                let int = int.cast_into::<PyInt>()?;
                let shown = int.repr()?.to_string();
                (int, shown)
            }
            Err(_) => {
                return Err(argument_type_error(
                    py,
                    format!(
                        "{name} must be an integer (or a string such as \"1e10\"), not {}",
                        value.get_type().name()?
                    ),
                ))
            }
        }
    };
    match int.extract::<u64>() {
        Ok(n) => Ok(n),
        Err(_) if int.lt(0)? => Err(from_expr(shown, ExprError::Negative)),
        Err(_) => Err(from_expr(shown, ExprError::TooLarge)),
    }
}

/// `[START, STOP]` from one or two positional numbers: `(stop)` means `[0, stop]`.
fn read_range(first: &Bound<'_, PyAny>, second: Option<&Bound<'_, PyAny>>) -> PyResult<(u64, u64)> {
    let (lo, hi) = match second {
        None => (0, read_u64("STOP", first)?),
        Some(second) => (read_u64("START", first)?, read_u64("STOP", second)?),
    };
    if lo > hi {
        return Err(PyValueError::new_err(format!(
            "START {lo} is greater than STOP {hi}"
        )));
    }
    Ok((lo, hi))
}

/// The `threads=` keyword: `None` for the default (`SLURM_CPUS_PER_TASK`, else every core this
/// process may use), else a count from 1 to 2^16.
fn read_threads(threads: Option<&Bound<'_, PyAny>>) -> PyResult<usize> {
    match threads {
        None => Ok(driver::default_threads().threads),
        Some(t) if t.is_none() => Ok(driver::default_threads().threads),
        Some(t) => {
            let n = read_u64("threads", t).map_err(|e| {
                if e.is_instance_of::<PyOverflowError>(t.py()) {
                    PyValueError::new_err(format!("threads must be between 1 and {MAX_THREADS}"))
                } else {
                    e
                }
            })?;
            if n == 0 || n > MAX_THREADS {
                return Err(PyValueError::new_err(format!(
                    "threads {n} must be between 1 and {MAX_THREADS}"
                )));
            }
            Ok(n as usize)
        }
    }
}

/// The engine of the last call, kept for the next one: building one starts its threads and
/// allocates a sieve per thread. Rebuilt when the thread count changes, and in a child process
/// after `fork` (whose copy of the pool has no threads behind it).
static ENGINE: Mutex<Option<(u32, Arc<Engine>)>> = Mutex::new(None);

fn engine(threads: usize) -> PyResult<Arc<Engine>> {
    let pid = std::process::id();
    let mut slot = ENGINE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((owner, engine)) = slot.as_ref() {
        if *owner == pid && engine.threads() == threads {
            return Ok(Arc::clone(engine));
        }
        if *owner != pid {
            // The parent's pool threads do not exist here; dropping the pool would wait for them.
            std::mem::forget(slot.take());
        }
    }
    let engine = Engine::new(threads, driver::cache::detect(None)).map_err(|e| match e {
        driver::engine::EngineError::Pool { .. } => PyRuntimeError::new_err(e.to_string()),
        _ => PyValueError::new_err(e.to_string()),
    })?;
    let engine = Arc::new(engine);
    *slot = Some((pid, Arc::clone(&engine)));
    Ok(engine)
}

/// Runs `work` with the GIL released. Long work runs on a scoped thread while this one polls for
/// signals; a signal handler that raises (Ctrl-C: `KeyboardInterrupt`) sets the cancel flag, and
/// its exception is returned once the work has stopped. A panic becomes `RuntimeError`.
fn run<T: Send>(
    py: Python<'_>,
    wide: bool,
    work: impl FnOnce(&AtomicBool) -> T + Send,
) -> PyResult<T> {
    let cancel = AtomicBool::new(false);
    let outcome = py.detach(|| {
        if !wide {
            return std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&cancel)))
                .map_err(|_| None);
        }
        std::thread::scope(|scope| {
            let (done_tx, done_rx) = mpsc::channel::<()>();
            let cancel = &cancel;
            let worker = scope.spawn(move || {
                let result = work(cancel);
                let _ = done_tx.send(());
                result
            });
            let mut raised = None;
            // Ends when the worker sends, or drops its sender without sending (it panicked).
            while let Err(mpsc::RecvTimeoutError::Timeout) = done_rx.recv_timeout(POLL) {
                if raised.is_none() {
                    if let Err(e) = Python::attach(|py| py.check_signals()) {
                        cancel.store(true, Ordering::Relaxed);
                        raised = Some(e);
                    }
                }
            }
            let result = worker.join();
            match (raised, result) {
                (Some(e), _) => Err(Some(e)),
                (None, Ok(value)) => Ok(value),
                (None, Err(_)) => Err(None),
            }
        })
    });
    outcome.map_err(|raised| {
        raised.unwrap_or_else(|| {
            PyRuntimeError::new_err("erato: internal error (a panic); please report it")
        })
    })
}

/// The error of a cancelled call whose signal handler did not raise (it should have).
fn interrupted() -> PyErr {
    pyo3::exceptions::PyKeyboardInterrupt::new_err("erato: interrupted")
}

fn list_error(e: ListError) -> PyErr {
    match e {
        ListError::Cancelled => interrupted(),
        ListError::OutOfMemory { bytes } => PyMemoryError::new_err(format!(
            "cannot allocate {bytes} bytes for these primes; iter_primes lists them chunk by chunk"
        )),
    }
}

/// The primes in [start, stop], both ends included, as a NumPy array.
///
/// ``primes(stop)`` is ``primes(0, stop)``. Bounds are whole numbers from 0 to 2**64 - 1: ints
/// (NumPy's too), floats holding whole numbers (``1e9``) or strings in the command line's syntax
/// (``"1e10"``, ``"2^64-1"``).
///
/// Returns a 1-D ``numpy.ndarray`` of dtype ``uint64``, shape ``(count_primes(start, stop),)``,
/// increasing; 8 bytes per prime (about 400 MB for stop = 1e9). Sieves on ``threads`` threads
/// (default: ``default_threads()``) with the GIL released; Ctrl-C stops it.
///
/// Raises ValueError (negative, not a whole number, start > stop), OverflowError (above
/// 2**64 - 1), ArgumentTypeError (a TypeError and ValueError: not a number), MemoryError.
#[pyfunction]
#[pyo3(signature = (start, stop = None, *, threads = None))]
fn primes<'py>(
    py: Python<'py>,
    start: &Bound<'py, PyAny>,
    stop: Option<&Bound<'py, PyAny>>,
    threads: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyArray1<u64>>> {
    let (lo, hi) = read_range(start, stop)?;
    let engine = engine(read_threads(threads)?)?;
    let sieved = run(py, may_take_long(lo, hi), |cancel| {
        query::sieve(&engine, lo, hi, cancel)
    })?
    .map_err(list_error)?;
    to_array(py, &engine, &sieved)
}

/// The primes of `sieved` in a new NumPy array. NumPy allocates it (raising MemoryError where it
/// cannot), with transparent huge pages on Linux where the system allows them: a fresh array of
/// 4 KiB pages costs more in page faults than the whole decoding.
fn to_array<'py>(
    py: Python<'py>,
    engine: &Engine,
    sieved: &query::Sieved,
) -> PyResult<Bound<'py, PyArray1<u64>>> {
    let numpy = py.import("numpy")?;
    let array = numpy
        .getattr("empty")?
        .call1((sieved.len(), numpy.getattr("uint64")?))?
        .cast_into::<PyArray1<u64>>()?;
    {
        let mut write = array.readwrite();
        let out = write.as_slice_mut()?;
        py.detach(|| sieved.decode_into(engine, out));
    }
    Ok(array)
}

fn counts(
    py: Python<'_>,
    start: &Bound<'_, PyAny>,
    stop: Option<&Bound<'_, PyAny>>,
    threads: Option<&Bound<'_, PyAny>>,
    twins: bool,
) -> PyResult<(u64, u64)> {
    let (lo, hi) = read_range(start, stop)?;
    let engine = engine(read_threads(threads)?)?;
    run(py, may_take_long(lo, hi), |cancel| {
        query::count(&engine, lo, hi, twins, cancel).map(|c| (c.primes, c.twins))
    })?
    .map_err(|_| interrupted())
}

/// The number of primes in [start, stop], both ends included, as an int.
///
/// ``count_primes(stop)`` is ``count_primes(0, stop)``. Bounds as for ``primes``. Counts on
/// ``threads`` threads with the GIL released; Ctrl-C stops it. Errors as for ``primes``.
#[pyfunction]
#[pyo3(signature = (start, stop = None, *, threads = None))]
fn count_primes(
    py: Python<'_>,
    start: &Bound<'_, PyAny>,
    stop: Option<&Bound<'_, PyAny>>,
    threads: Option<&Bound<'_, PyAny>>,
) -> PyResult<u64> {
    Ok(counts(py, start, stop, threads, false)?.0)
}

/// The number of twin-prime pairs (p, p + 2) with both p and p + 2 in [start, stop], as an int.
///
/// ``count_twins(stop)`` is ``count_twins(0, stop)``; ``count_twins(1, 10)`` is 2: (3, 5) and
/// (5, 7). Bounds, threads and errors as for ``primes``.
#[pyfunction]
#[pyo3(signature = (start, stop = None, *, threads = None))]
fn count_twins(
    py: Python<'_>,
    start: &Bound<'_, PyAny>,
    stop: Option<&Bound<'_, PyAny>>,
    threads: Option<&Bound<'_, PyAny>>,
) -> PyResult<u64> {
    Ok(counts(py, start, stop, threads, true)?.1)
}

/// The k-tuplets (`3 <= k <= 6`) with every member in the range, counted as the command line's
/// `-c3` .. `-c6` count them ([`query::count_tuplets`]), with the GIL released and Ctrl-C heard.
fn tuplets(
    py: Python<'_>,
    start: &Bound<'_, PyAny>,
    stop: Option<&Bound<'_, PyAny>>,
    threads: Option<&Bound<'_, PyAny>>,
    k: usize,
) -> PyResult<u64> {
    let (lo, hi) = read_range(start, stop)?;
    let engine = engine(read_threads(threads)?)?;
    run(py, may_take_long(lo, hi), |cancel| {
        query::count_tuplets(&engine, lo, hi, k, cancel)
    })?
    .map_err(|_| interrupted())
}

/// The number of prime triplets (p, p + 2, p + 6) and (p, p + 4, p + 6) with all three members
/// in [start, stop], as an int (primesieve's definition, as ``erato -c3``).
///
/// ``count_triplets(stop)`` is ``count_triplets(0, stop)``; ``count_triplets(1, 20)`` is 4:
/// (5, 7, 11), (7, 11, 13), (11, 13, 17) and (13, 17, 19), not (17, 19, 23), which ends above 20.
/// Bounds, threads and errors as for ``primes``.
#[pyfunction]
#[pyo3(signature = (start, stop = None, *, threads = None))]
fn count_triplets(
    py: Python<'_>,
    start: &Bound<'_, PyAny>,
    stop: Option<&Bound<'_, PyAny>>,
    threads: Option<&Bound<'_, PyAny>>,
) -> PyResult<u64> {
    tuplets(py, start, stop, threads, 3)
}

/// The number of prime quadruplets (p, p + 2, p + 6, p + 8) with all four members in
/// [start, stop], as an int (primesieve's definition, as ``erato -c4``).
///
/// ``count_quadruplets(stop)`` is ``count_quadruplets(0, stop)``; ``count_quadruplets(100)`` is
/// 2: (5, 7, 11, 13) and (11, 13, 17, 19). Bounds, threads and errors as for ``primes``.
#[pyfunction]
#[pyo3(signature = (start, stop = None, *, threads = None))]
fn count_quadruplets(
    py: Python<'_>,
    start: &Bound<'_, PyAny>,
    stop: Option<&Bound<'_, PyAny>>,
    threads: Option<&Bound<'_, PyAny>>,
) -> PyResult<u64> {
    tuplets(py, start, stop, threads, 4)
}

/// The number of prime quintuplets (p, p + 2, p + 6, p + 8, p + 12) and (p, p + 4, p + 6, p + 10,
/// p + 12) with all five members in [start, stop], as an int (primesieve's definition, as
/// ``erato -c5``).
///
/// ``count_quintuplets(stop)`` is ``count_quintuplets(0, stop)``; ``count_quintuplets(100)`` is
/// 3: (5, 7, 11, 13, 17), (7, 11, 13, 17, 19) and (11, 13, 17, 19, 23). Bounds, threads and
/// errors as for ``primes``.
#[pyfunction]
#[pyo3(signature = (start, stop = None, *, threads = None))]
fn count_quintuplets(
    py: Python<'_>,
    start: &Bound<'_, PyAny>,
    stop: Option<&Bound<'_, PyAny>>,
    threads: Option<&Bound<'_, PyAny>>,
) -> PyResult<u64> {
    tuplets(py, start, stop, threads, 5)
}

/// The number of prime sextuplets (p, p + 4, p + 6, p + 10, p + 12, p + 16) with all six members
/// in [start, stop], as an int (primesieve's definition, as ``erato -c6``).
///
/// ``count_sextuplets(stop)`` is ``count_sextuplets(0, stop)``; ``count_sextuplets(1000)`` is 2:
/// (7, 11, 13, 17, 19, 23) and (97, 101, 103, 107, 109, 113). Bounds, threads and errors as for
/// ``primes``.
#[pyfunction]
#[pyo3(signature = (start, stop = None, *, threads = None))]
fn count_sextuplets(
    py: Python<'_>,
    start: &Bound<'_, PyAny>,
    stop: Option<&Bound<'_, PyAny>>,
    threads: Option<&Bound<'_, PyAny>>,
) -> PyResult<u64> {
    tuplets(py, start, stop, threads, 6)
}

/// The n-th prime counted from start, as primesieve defines it: for n > 0 the n-th prime above
/// start (``nth_prime(1) == 2``, ``nth_prime(1000) == 7919``), for n < 0 the |n|-th prime below
/// start counting down, for n == 0 the first prime at or above start. Returns an int.
///
/// Counts on ``threads`` threads with the GIL released; Ctrl-C stops it. Raises ValueError when
/// that prime would be above 2**64 - 1 or below 2, plus the errors of ``primes`` for start.
#[pyfunction]
#[pyo3(signature = (n, start = None, *, threads = None), text_signature = "(n, start=0, *, threads=None)")]
fn nth_prime(
    py: Python<'_>,
    n: &Bound<'_, PyAny>,
    start: Option<&Bound<'_, PyAny>>,
    threads: Option<&Bound<'_, PyAny>>,
) -> PyResult<u64> {
    let start = match start {
        Some(s) => read_u64("start", s)?,
        None => 0,
    };
    let n_int = if n.is_instance_of::<PyFloat>() || n.is_instance_of::<PyString>() {
        None
    } else {
        py.import("operator")?
            .getattr("index")?
            .call1((n,))
            .ok()
            .and_then(|i| i.cast_into::<PyInt>().ok())
    };
    let Some(n_int) = n_int else {
        return Err(argument_type_error(
            py,
            format!("n must be an integer, not {}", n.get_type().name()?),
        ));
    };
    let above = || {
        PyValueError::new_err(format!(
            "nth_prime({n_int}, {start}): that prime is above the largest supported value {MAX_TEXT}"
        ))
    };
    // Any n outside i64 is far beyond the primes of u64 in either direction.
    let n: i64 = match n_int.extract() {
        Ok(n) => n,
        Err(_) if n_int.lt(0)? => i64::MIN,
        Err(_) => return Err(above()),
    };
    let engine = engine(read_threads(threads)?)?;
    let wide = n.unsigned_abs() > 1000 || start > 1 << 40;
    match run(py, wide, |cancel| {
        query::nth_prime(&engine, n, start, cancel)
    })? {
        Ok(p) => Ok(p),
        Err(NthPrimeError::AboveMax) => Err(above()),
        Err(NthPrimeError::TooFewBelow { found }) => Err(PyValueError::new_err(format!(
            "nth_prime({n_int}, {start}): there are only {found} primes below {start}"
        ))),
        Err(NthPrimeError::Cancelled) => Err(interrupted()),
    }
}

/// The iterator of `iter_primes`: one NumPy array per chunk of the range.
#[pyclass(module = "erato")]
struct PrimeIterator {
    chunks: PrimeChunks,
    engine: Arc<Engine>,
}

#[pymethods]
impl PrimeIterator {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(
        mut slf: PyRefMut<'py, Self>,
        py: Python<'py>,
    ) -> PyResult<Option<Bound<'py, PyArray1<u64>>>> {
        let this = &mut *slf;
        let engine = Arc::clone(&this.engine);
        let chunks = &mut this.chunks;
        loop {
            let Some((a, b)) = chunks.peek() else {
                return Ok(None);
            };
            let next = run(py, may_take_long(a, b), |cancel| {
                chunks.next_sieved(&engine, cancel)
            })?
            .map_err(list_error)?;
            match next {
                None => return Ok(None),
                // Chunks without a prime (possible near 2^64 with narrow chunks) are skipped.
                Some(sieved) if sieved.is_empty() => continue,
                Some(sieved) => return Ok(Some(to_array(py, &engine, &sieved)?)),
            }
        }
    }
}

/// The primes in [start, stop], both ends included, as an iterator of NumPy arrays: one 1-D
/// ``uint64`` array per ``chunk_size`` numbers of the range (not primes; 2**27 numbers hold at
/// most 7.3 million primes, 56 MiB), increasing, for ranges whose primes do not fit in memory.
/// Chunks without primes are skipped, so ``numpy.concatenate(list(iter_primes(a, b)))`` equals
/// ``primes(a, b)`` whenever that has a prime.
///
/// Bounds, threads and errors as for ``primes``; each chunk sieves with the GIL released.
#[pyfunction]
#[pyo3(
    signature = (start, stop = None, *, threads = None, chunk_size = None),
    text_signature = "(start, stop=None, *, threads=None, chunk_size=2**27)"
)]
fn iter_primes(
    start: &Bound<'_, PyAny>,
    stop: Option<&Bound<'_, PyAny>>,
    threads: Option<&Bound<'_, PyAny>>,
    chunk_size: Option<&Bound<'_, PyAny>>,
) -> PyResult<PrimeIterator> {
    let (lo, hi) = read_range(start, stop)?;
    let width = match chunk_size {
        None => DEFAULT_CHUNK,
        Some(c) if c.is_none() => DEFAULT_CHUNK,
        Some(c) => match read_u64("chunk_size", c)? {
            0 => return Err(PyValueError::new_err("chunk_size 0 must be at least 1")),
            w => w,
        },
    };
    Ok(PrimeIterator {
        chunks: PrimeChunks::new(lo, hi, width),
        engine: engine(read_threads(threads)?)?,
    })
}

/// Numbers per array of `iter_primes` by default: 2^27, at most 7.3 million primes (56 MiB).
const DEFAULT_CHUNK: u64 = 1 << 27;

/// The threads a call uses when given no ``threads=``: ``SLURM_CPUS_PER_TASK`` inside a Slurm
/// job, else the cores this process may run on (its CPU affinity), as the erato command does.
#[pyfunction]
fn default_threads() -> usize {
    driver::default_threads().threads
}

#[pymodule]
fn _erato(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let class = ARGUMENT_TYPE_ERROR.get_or_try_init(py, || -> PyResult<Py<PyType>> {
        let bases = PyTuple::new(
            py,
            [py.get_type::<PyTypeError>(), py.get_type::<PyValueError>()],
        )?;
        let namespace = PyDict::new(py);
        namespace.set_item("__module__", "erato")?;
        namespace.set_item(
            "__doc__",
            "An argument of the wrong type (a list where a number belongs). Both a TypeError and \
             a ValueError, so `except ValueError` catches every bad argument.",
        )?;
        Ok(py
            .get_type::<PyType>()
            .call1(("ArgumentTypeError", bases, namespace))?
            .cast_into::<PyType>()?
            .unbind())
    })?;
    m.add("ArgumentTypeError", class.bind(py))?;
    m.add("MAX_STOP", u64::MAX)?;
    m.add("DEFAULT_CHUNK_SIZE", DEFAULT_CHUNK)?;
    m.add_function(wrap_pyfunction!(primes, m)?)?;
    m.add_function(wrap_pyfunction!(count_primes, m)?)?;
    m.add_function(wrap_pyfunction!(count_twins, m)?)?;
    m.add_function(wrap_pyfunction!(count_triplets, m)?)?;
    m.add_function(wrap_pyfunction!(count_quadruplets, m)?)?;
    m.add_function(wrap_pyfunction!(count_quintuplets, m)?)?;
    m.add_function(wrap_pyfunction!(count_sextuplets, m)?)?;
    m.add_function(wrap_pyfunction!(nth_prime, m)?)?;
    m.add_function(wrap_pyfunction!(iter_primes, m)?)?;
    m.add_function(wrap_pyfunction!(default_threads, m)?)?;
    m.add_class::<PrimeIterator>()?;
    Ok(())
}
