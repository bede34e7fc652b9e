//! TcpIp (group 6) and UdpIp (group 8), IPv4 and IPv6 (V2 layouts).
use super::Entry;
use crate::schema::{f, Field, FieldType::*};

pub const TCP_TASK: &str = "TcpIp";
pub const UDP_TASK: &str = "UdpIp";

const SEND_V4: &[Field] = &[
    f("PID", U32),
    f("size", U32),
    f("daddr", Ipv4),
    f("saddr", Ipv4),
    f("dport", PortBe),
    f("sport", PortBe),
    f("startime", U32),
    f("endtime", U32),
    f("seqnum", U32),
    f("connid", Pointer),
];
const GROUP1_V4: &[Field] = &[
    f("PID", U32),
    f("size", U32),
    f("daddr", Ipv4),
    f("saddr", Ipv4),
    f("dport", PortBe),
    f("sport", PortBe),
    f("seqnum", U32),
    f("connid", Pointer),
];
const CONNECT_V4: &[Field] = &[
    f("PID", U32),
    f("size", U32),
    f("daddr", Ipv4),
    f("saddr", Ipv4),
    f("dport", PortBe),
    f("sport", PortBe),
    f("mss", U16),
    f("sackopt", U16),
    f("tsopt", U16),
    f("wsopt", U16),
    f("rcvwin", U32),
    f("rcvwinscale", I16),
    f("sndwinscale", I16),
    f("seqnum", U32),
    f("connid", Pointer),
];
const SEND_V6: &[Field] = &[
    f("PID", U32),
    f("size", U32),
    f("daddr", Ipv6),
    f("saddr", Ipv6),
    f("dport", PortBe),
    f("sport", PortBe),
    f("startime", U32),
    f("endtime", U32),
    f("seqnum", U32),
    f("connid", Pointer),
];
const GROUP1_V6: &[Field] = &[
    f("PID", U32),
    f("size", U32),
    f("daddr", Ipv6),
    f("saddr", Ipv6),
    f("dport", PortBe),
    f("sport", PortBe),
    f("seqnum", U32),
    f("connid", Pointer),
];
const CONNECT_V6: &[Field] = &[
    f("PID", U32),
    f("size", U32),
    f("daddr", Ipv6),
    f("saddr", Ipv6),
    f("dport", PortBe),
    f("sport", PortBe),
    f("mss", U16),
    f("sackopt", U16),
    f("tsopt", U16),
    f("wsopt", U16),
    f("rcvwin", U32),
    f("rcvwinscale", I16),
    f("sndwinscale", I16),
    f("seqnum", U32),
    f("connid", Pointer),
];
const FAIL: &[Field] = &[f("Proto", U16), f("FailureCode", U16)];

pub fn tcp_lookup(opcode: u8, _version: u16) -> Option<Entry> {
    Some(match opcode {
        10 => ("Send", SEND_V4),
        11 => ("Recv", GROUP1_V4),
        12 => ("Connect", CONNECT_V4),
        13 => ("Disconnect", GROUP1_V4),
        14 => ("Retransmit", GROUP1_V4),
        15 => ("Accept", CONNECT_V4),
        16 => ("Reconnect", GROUP1_V4),
        17 => ("Fail", FAIL),
        18 => ("TCPCopy", GROUP1_V4),
        26 => ("SendIPV6", SEND_V6),
        27 => ("RecvIPV6", GROUP1_V6),
        28 => ("ConnectIPV6", CONNECT_V6),
        29 => ("DisconnectIPV6", GROUP1_V6),
        30 => ("RetransmitIPV6", GROUP1_V6),
        31 => ("AcceptIPV6", CONNECT_V6),
        32 => ("ReconnectIPV6", GROUP1_V6),
        34 => ("TCPCopyIPV6", GROUP1_V6),
        _ => return None,
    })
}

pub fn udp_lookup(opcode: u8, _version: u16) -> Option<Entry> {
    Some(match opcode {
        10 => ("Send", GROUP1_V4),
        11 => ("Recv", GROUP1_V4),
        17 => ("Fail", FAIL),
        26 => ("SendIPV6", GROUP1_V6),
        27 => ("RecvIPV6", GROUP1_V6),
        _ => return None,
    })
}
