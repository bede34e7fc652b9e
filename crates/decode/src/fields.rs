//! Fast typed reads of hot kernel events: the byte offsets of fixed-size
//! fields, computed once per (event, version, pointer size) from the decoder's
//! declared layouts, so the model reads CSwitch and friends without building
//! a field list per event.
use crate::kernel;
use crate::name::Name;
use crate::schema::{Field, FieldType, Len};
use etl::bytes::{u16_at, u32_at, u64_at, u8_at};
use etl::record::{Record, RecordId};
use rustc_hash::FxHashMap as HashMap;

/// Where one field sits, and how wide it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    pub offset: usize,
    pub width: u8,
}

impl Slot {
    #[inline]
    pub fn read(&self, payload: &[u8]) -> Option<u64> {
        match self.width {
            1 => u8_at(payload, self.offset).map(u64::from),
            2 => u16_at(payload, self.offset).map(u64::from),
            4 => u32_at(payload, self.offset).map(u64::from),
            8 => u64_at(payload, self.offset),
            _ => None,
        }
    }

    /// Stores the low `width` bytes of `value`, little-endian: the writer's
    /// side of `read`. `out` must hold the layout's fixed-size beginning.
    #[inline]
    pub fn put(&self, out: &mut [u8], value: u64) {
        let width = usize::from(self.width).min(8);
        out[self.offset..self.offset + width].copy_from_slice(&value.to_le_bytes()[..width]);
    }

    /// The field as a signed byte (wait reasons, priorities, states).
    #[inline]
    pub fn read_i8(&self, payload: &[u8]) -> Option<i8> {
        u8_at(payload, self.offset).map(|b| b as i8)
    }
}

/// Bytes `field` takes whatever its value, when that is fixed (bit fields take none).
pub(crate) fn fixed_width(field: &Field, pointer_size: u8) -> Option<usize> {
    if field.count != Len::None {
        return None;
    }
    Some(match field.ty {
        FieldType::I8 | FieldType::U8 | FieldType::Bool8 => 1,
        FieldType::I16 | FieldType::U16 | FieldType::PortBe => 2,
        FieldType::I32 | FieldType::U32 | FieldType::Hex32 | FieldType::Bool32 | FieldType::F32 | FieldType::Ipv4 => 4,
        FieldType::I64 | FieldType::U64 | FieldType::Hex64 | FieldType::F64 | FieldType::FileTime => 8,
        FieldType::Pointer | FieldType::PointerUint => usize::from(pointer_size),
        FieldType::Guid | FieldType::Ipv6 | FieldType::SystemTime => 16,
        FieldType::Skip(n) => usize::from(n),
        // Bit fields read inside the byte that follows; they take no room.
        FieldType::Bits { .. } => 0,
        _ => return None,
    })
}

/// Offsets of the leading fixed-size fields of a layout (and of the first
/// variable field, which starts where they end).
#[derive(Clone, Debug, Default)]
pub struct Layout {
    slots: Vec<(&'static str, Slot)>,
    /// Bytes of the fixed-size beginning.
    fixed_len: usize,
}

impl Layout {
    pub fn new(fields: &'static [Field], pointer_size: u8) -> Layout {
        let mut slots = Vec::new();
        let mut offset = 0usize;
        for field in fields {
            let name: &'static str = match &field.name {
                Name::Static(name) => name,
                Name::Shared(_) => "",
            };
            match fixed_width(field, pointer_size) {
                Some(width) => {
                    if !matches!(field.ty, FieldType::Bits { .. } | FieldType::Skip(_)) {
                        slots.push((name, Slot { offset, width: width as u8 }));
                    }
                    offset += width;
                }
                None => {
                    // A variable field: its start is known, nothing after it is.
                    slots.push((name, Slot { offset, width: 0 }));
                    break;
                }
            }
        }
        Layout { slots, fixed_len: offset }
    }

    /// Bytes of the fixed-size beginning: the whole payload when every field is fixed.
    pub fn fixed_len(&self) -> usize {
        self.fixed_len
    }

    pub fn slot(&self, name: &str) -> Option<Slot> {
        self.slots.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
    }
}

/// Layouts of kernel events by (group, opcode, version, pointer size), cached.
#[derive(Default)]
pub struct KernelLayouts {
    cache: HashMap<(u8, u8, u16, u8), Option<Layout>>,
}

impl KernelLayouts {
    pub fn get(&mut self, group: u8, opcode: u8, version: u16, pointer_size: u8) -> Option<&Layout> {
        self.cache
            .entry((group, opcode, version, pointer_size))
            .or_insert_with(|| {
                kernel::lookup(group, opcode, version).map(|class| Layout::new(class.fields, pointer_size))
            })
            .as_ref()
    }
}

/// The slots of the named fields; None where the layout lacks one.
pub type Slots<const N: usize> = [Option<Slot>; N];

/// The slots of some named fields of one kernel event, looked up once per
/// version and pointer size instead of by name for every event.
pub struct FieldSlots<const N: usize> {
    group: u8,
    opcode: u8,
    names: [&'static str; N],
    /// Version and pointer size last seen, and their slots (None: no layout).
    seen: Option<(u16, u8, Option<Slots<N>>)>,
}

impl<const N: usize> FieldSlots<N> {
    pub const fn new(group: u8, opcode: u8, names: [&'static str; N]) -> Self {
        FieldSlots { group, opcode, names, seen: None }
    }

    #[inline]
    pub fn get(&mut self, layouts: &mut KernelLayouts, version: u16, pointer_size: u8) -> Option<&Slots<N>> {
        if !matches!(self.seen, Some((v, p, _)) if v == version && p == pointer_size) {
            let slots =
                layouts.get(self.group, self.opcode, version, pointer_size).map(|l| self.names.map(|n| l.slot(n)));
            self.seen = Some((version, pointer_size, slots));
        }
        self.seen.as_ref()?.2.as_ref()
    }
}

/// A few named integer fields read from any kernel event without decoding
/// its payload: the offsets are worked out once per class, version and
/// pointer size. A pass that needs only these fields of every record (the
/// events table's process and thread owners) skips the field list per record.
pub struct KernelFieldReader<const N: usize> {
    names: [&'static str; N],
    layouts: KernelLayouts,
    /// Per class: the slots, or None when the class is unknown or a named field
    /// lies past a variable-length one, so that only `Decoder::decode` finds it.
    by_class: HashMap<(u8, u8, u16, u8), Option<Slots<N>>>,
}

impl<const N: usize> KernelFieldReader<N> {
    pub fn new(names: [&'static str; N]) -> Self {
        KernelFieldReader { names, layouts: KernelLayouts::default(), by_class: HashMap::default() }
    }

    /// The named fields of a kernel event (None where its class has no such
    /// field or the payload ends before it); None when the record must be decoded.
    pub fn read(&mut self, record: &Record<'_>) -> Option<[Option<u64>; N]> {
        let RecordId::Kernel { group, opcode } = record.id else { return None };
        let pointer_size = record.pointer_size();
        let key = (group, opcode, record.version, pointer_size);
        let (names, layouts) = (&self.names, &mut self.layouts);
        let slots = self.by_class.entry(key).or_insert_with(|| {
            let class = kernel::lookup(group, opcode, record.version)?;
            let layout = layouts.get(group, opcode, record.version, pointer_size)?;
            let mut slots = [None; N];
            for (slot, &name) in slots.iter_mut().zip(names) {
                let declared = class.fields.iter().any(|f| f.name.as_ref() == name);
                *slot = layout.slot(name).filter(|s| s.width > 0);
                if declared && slot.is_none() {
                    return None;
                }
            }
            Some(slots)
        });
        let slots = slots.as_ref()?;
        Some(slots.map(|slot| slot.and_then(|s| s.read(record.payload))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cswitch_offsets_follow_the_mof_layout() {
        let mut layouts = KernelLayouts::default();
        let layout = layouts.get(5, 36, 2, 8).expect("CSwitch is declared");
        assert_eq!(layout.slot("NewThreadId"), Some(Slot { offset: 0, width: 4 }));
        assert_eq!(layout.slot("OldThreadId"), Some(Slot { offset: 4, width: 4 }));
        assert_eq!(layout.slot("OldThreadWaitReason").map(|s| s.offset), Some(12));
        let sample = layouts.get(15, 46, 2, 4).expect("SampledProfile is declared").clone();
        assert_eq!(sample.slot("ThreadId"), Some(Slot { offset: 4, width: 4 }));
        let stack = layouts.get(24, 32, 2, 8).expect("StackWalk is declared");
        assert_eq!(stack.slot("Stack").map(|s| s.offset), Some(16));
        assert_eq!(stack.fixed_len(), 16);
        assert_eq!(layouts.get(15, 46, 2, 8).map(Layout::fixed_len), Some(16));
    }

    #[test]
    fn slots_put_what_they_read() {
        let slot = Slot { offset: 2, width: 2 };
        let mut out = [0u8; 4];
        slot.put(&mut out, 0x1_0203);
        assert_eq!(out, [0, 0, 3, 2]);
        assert_eq!(slot.read(&out), Some(0x0203));
    }

    #[test]
    fn field_slots_follow_the_version_and_pointer_size_seen() {
        let mut layouts = KernelLayouts::default();
        let mut slots = FieldSlots::new(15, 46, ["InstructionPointer", "ThreadId", "NoSuchField"]);
        let wide = *slots.get(&mut layouts, 2, 8).expect("SampledProfile is declared");
        assert_eq!(wide, [Some(Slot { offset: 0, width: 8 }), Some(Slot { offset: 8, width: 4 }), None]);
        let narrow = *slots.get(&mut layouts, 2, 4).expect("SampledProfile is declared");
        assert_eq!(narrow[1], Some(Slot { offset: 4, width: 4 }));
        assert!(FieldSlots::new(15, 250, ["X"]).get(&mut layouts, 2, 8).is_none(), "an undeclared event has no slots");
    }
}
