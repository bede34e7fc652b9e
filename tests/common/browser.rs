//! Headless Chromium for the tests that look at what etwq draws: find it, take
//! a screenshot of a page, and read a PNG's pixels.
use std::path::Path;
use std::process::Command;

/// The Chromium on PATH, if any.
pub fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()))
}

/// A screenshot of `url` in a window of `size`, written to `png`. Chromium gets a
/// new profile in `profile_dir` and no background networking (this machine's
/// network is closed). Fails the test, with Chromium's stderr, when no PNG appears.
pub fn screenshot(browser: &str, url: &str, png: &Path, (width, height): (u32, u32), profile_dir: &Path) {
    let output = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            &format!("--user-data-dir={}", profile_dir.display()),
            &format!("--screenshot={}", png.display()),
            &format!("--window-size={width},{height}"),
            url,
        ])
        .output()
        .unwrap();
    assert!(png.is_file(), "no screenshot: {}", String::from_utf8_lossy(&output.stderr));
}

/// A PNG's size and its pixels as RGB (alpha dropped).
pub struct Pixels {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<[u8; 3]>,
}

impl Pixels {
    pub fn read(path: &Path) -> Pixels {
        let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buffer).unwrap();
        let channels = info.color_type.samples();
        assert!(channels >= 3 && info.bit_depth == png::BitDepth::Eight, "{}: {:?}", path.display(), info.color_type);
        let rgb = buffer[..info.buffer_size()].chunks(channels).map(|p| [p[0], p[1], p[2]]).collect();
        Pixels { width: info.width, height: info.height, rgb }
    }

    /// How many distinct colours the image holds.
    pub fn distinct_colours(&self) -> usize {
        self.rgb.iter().collect::<std::collections::HashSet<_>>().len()
    }
}
