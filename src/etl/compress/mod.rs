//! Placeholder until the codecs land: the API the container calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CompressionFormat {
    Lznt1,
    Xpress,
    XpressHuffman,
}

impl CompressionFormat {
    pub fn name(self) -> &'static str {
        match self {
            CompressionFormat::Lznt1 => "LZNT1",
            CompressionFormat::Xpress => "XPRESS",
            CompressionFormat::XpressHuffman => "XPRESS Huffman",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecompressError {
    pub format: CompressionFormat,
    pub input_offset: usize,
    pub what: String,
}

impl std::fmt::Display for DecompressError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} data is corrupt at input offset {}: {}", self.format.name(), self.input_offset, self.what)
    }
}

pub fn decompress_into(
    format: CompressionFormat,
    _input: &[u8],
    _expected_len: usize,
    _out: &mut Vec<u8>,
) -> Result<(), DecompressError> {
    Err(DecompressError { format, input_offset: 0, what: "not implemented yet".into() })
}

pub fn decompress(format: CompressionFormat, input: &[u8], expected_len: usize) -> Result<Vec<u8>, DecompressError> {
    let mut out = Vec::new();
    decompress_into(format, input, expected_len, &mut out)?;
    Ok(out)
}

pub fn compress(_format: CompressionFormat, input: &[u8]) -> Vec<u8> {
    input.to_vec()
}
