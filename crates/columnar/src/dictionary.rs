//! String interning for dictionary-encoded columns.
use ahash::AHashMap as HashMap;
use std::sync::Arc;

/// Distinct strings of a column; a row stores the code (index) of its string.
#[derive(Clone, Debug, Default)]
pub struct Dictionary {
    values: Vec<Arc<str>>,
    index: HashMap<Arc<str>, u32>,
}

impl Dictionary {
    pub fn new() -> Dictionary {
        Dictionary::default()
    }

    /// The code of `text`, adding it when new. Codes saturate at u32::MAX - 1
    /// distinct strings; past that every new string shares the last code
    /// rather than panicking (no trace has four billion distinct strings).
    pub fn intern(&mut self, text: &str) -> u32 {
        if let Some(&code) = self.index.get(text) {
            return code;
        }
        let Ok(code) = u32::try_from(self.values.len()) else {
            return u32::MAX - 1;
        };
        let shared: Arc<str> = Arc::from(text);
        self.values.push(shared.clone());
        self.index.insert(shared, code);
        code
    }

    pub fn code_of(&self, text: &str) -> Option<u32> {
        self.index.get(text).copied()
    }

    pub fn get(&self, code: u32) -> Option<&Arc<str>> {
        self.values.get(code as usize)
    }

    pub fn values(&self) -> &[Arc<str>] {
        &self.values
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}
