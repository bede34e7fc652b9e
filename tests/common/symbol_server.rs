//! A symbol server on 127.0.0.1 for the tests: each connection answered on its own
//! thread by a handler that gets the request path, the stream and the stop flag;
//! every request path is logged, so tests can count what was asked. Self-contained,
//! so that benches/symbols.rs includes it too.
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the server does with one request: it gets the request path and the stream,
/// and the flag that says the test is over.
type Handler = dyn Fn(&str, &mut TcpStream, &AtomicBool) + Send + Sync;

/// A symbol server on 127.0.0.1 that answers each connection on its own thread with
/// `handler`. Stops when dropped (and by itself after 60 s).
pub struct Server {
    pub url: String,
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub fn start(handler: impl Fn(&str, &mut TcpStream, &AtomicBool) + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}/symbols", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (log, stopped) = (requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            while !stopped.load(Ordering::Relaxed) && Instant::now() < deadline {
                let Ok((mut stream, _)) = listener.accept() else {
                    // Short: the benchmark times requests through this loop.
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                };
                let (log, stopped, handler) = (log.clone(), stopped.clone(), handler.clone());
                std::thread::spawn(move || {
                    stream.set_nonblocking(false).unwrap();
                    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                    let path = read_request_path(&mut stream);
                    log.lock().unwrap().push(path.clone());
                    handler(&path, &mut stream, &stopped);
                });
            }
        });
        Server { url, requests, stop, thread: Some(thread) }
    }

    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

pub fn respond(stream: &mut TcpStream, status: &str, headers: &str, body: &[u8]) {
    let head = format!("HTTP/1.1 {status}\r\n{headers}Connection: close\r\n\r\n");
    let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body));
}

pub fn not_found(stream: &mut TcpStream) {
    respond(stream, "404 Not Found", "Content-Length: 9\r\n", b"not here\n");
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The path of the HTTP request on `stream` (the test symbol servers' one question).
pub fn read_request_path(stream: &mut impl std::io::Read) -> String {
    let mut request = Vec::new();
    let mut byte = [0u8; 1];
    while !request.ends_with(b"\r\n\r\n") && request.len() < 8192 {
        match stream.read(&mut byte) {
            Ok(1) => request.push(byte[0]),
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&request);
    text.split(' ').nth(1).unwrap_or("").to_string()
}
