//! The time-series rows a run holds until its outputs are written, packed: about 60 bytes a
//! row instead of the 400 or so of a `TimeseriesRow` and its per-provider vectors, so a long
//! run at a fine sample interval grows by little more than its model's state (the bench's
//! 7-day against 1-day peak heap). Lossless, bit for bit: every float decodes to the same bits
//! it was pushed with, so `timeseries.csv` and the figures are byte-identical to rows held
//! whole.
//!
//! Each row is encoded in order, each field once (the destructuring in `encode` and the struct
//! literal in `decode` name every field, so a field added to `TimeseriesRow` fails to compile
//! here until it is encoded):
//! - integers as the LEB128 varint of the zigzagged difference from the same field in the row
//!   before (gauges barely move, counts are small): mostly one byte each;
//! - floats as a varint `zigzag(n) << 4 | k` when the value is exactly `n / 10^k` for some
//!   `k` in 0..=9 (the rows' times are whole seconds, the latencies whole microseconds over
//!   1e6, the tokens per minute whole tokens when the interval is a minute), else a tag and the
//!   8 raw bytes; a missing value is a tag alone;
//! - the per-provider and per-quota vectors with their lengths first.
//!
//! Rows are encoded into an open chunk of `CHUNK` bytes (a row never straddles two chunks);
//! a full chunk is sealed: deflated, its bytes kept in a box of their size, and the open
//! chunk's memory reused for the next. A support-agent chunk (about 200 minute rows of some 80
//! bytes) deflates to about 60% (16 KB to 9.8 KB), so a long run's rows grow by about 49 bytes
//! a minute row, and the bench's 7-day peak heap stays within 1.2 times the 1-day one. The
//! deflater's state (about 0.2 MiB) is held only while a chunk is sealed. Reading inflates one
//! sealed chunk at a time.
//! Reading decodes from the first row on (the differences chain), so `iter` is the way in;
//! `last` and `to_vec` are conveniences built on it.

use super::report::{QuotaSample, TimeseriesRow};

/// The bytes of one chunk before it is sealed: a day of minute rows fits in about six.
const CHUNK: usize = 16 * 1024;
/// Deflate's level for a sealed chunk: 6, the default (about 0.3 ms a chunk; level 1 would
/// leave about 15% more bytes for a quarter of the time, which a chunk sealed every 200 or so
/// rows does not need).
const DEFLATE_LEVEL: u8 = 6;

/// Powers of ten, exact in binary up to 1e22; `n as f64 / SCALES[k]` is the decoding.
const SCALES: [f64; 10] = [1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
/// Float tags above the decimal scales: the raw bits follow; no value.
const TAG_RAW: u64 = 10;
const TAG_NONE: u64 = 11;
/// Integers at most 2^53 in magnitude convert to f64 and back exactly.
const EXACT_INTEGER: f64 = 9_007_199_254_740_992.0;

/// The integer fields, each encoded as a difference from the row before.
const INTEGERS: usize = 18;

/// A run's time-series rows, packed (see the module documentation). Two `Rows` are equal
/// when they hold the same rows bit for bit (a stricter equality than `f64`'s: a NaN equals
/// itself, and 0.0 and -0.0 differ).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rows {
    /// Full chunks, deflated, in order.
    sealed: Vec<Box<[u8]>>,
    /// The chunk rows are encoded into, after the sealed ones.
    open: Vec<u8>,
    len: usize,
    /// The integer fields of the last row pushed.
    last: [u64; INTEGERS],
}

impl Rows {
    pub fn new() -> Rows {
        Rows::default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Packs `row` after the others: encoded in place into the open chunk, once that has
    /// room for the most bytes the row could take (sealing the chunk first when it has not).
    pub fn push(&mut self, row: &TimeseriesRow) {
        let most = max_encoded_bytes(row);
        if self.open.capacity() - self.open.len() < most {
            if !self.open.is_empty() {
                self.seal();
            }
            self.open.reserve_exact(CHUNK.max(most));
        }
        let mut encoder = Encoder {
            bytes: &mut self.open,
            last: &mut self.last,
            field: 0,
        };
        encode(row, &mut encoder);
        debug_assert_eq!(encoder.field, INTEGERS, "every integer field is encoded");
        self.len += 1;
    }

    /// Deflates the open chunk into a sealed one and empties it, keeping its memory.
    #[cold]
    fn seal(&mut self) {
        let deflated = miniz_oxide::deflate::compress_to_vec(&self.open, DEFLATE_LEVEL);
        self.sealed.push(deflated.into_boxed_slice());
        self.open.clear();
    }

    /// Frees the unused tail of the open chunk: the rows are complete.
    pub fn shrink_to_fit(&mut self) {
        self.open.shrink_to_fit();
        self.sealed.shrink_to_fit();
    }

    /// The rows in order, decoded one at a time.
    pub fn iter(&self) -> Iter<'_> {
        let mut iter = Iter {
            sealed: &self.sealed,
            open: &self.open,
            chunk: 0,
            bytes: Vec::new(),
            at: 0,
            last: [0; INTEGERS],
            left: self.len,
        };
        iter.load();
        iter
    }

    /// The heap bytes the rows hold: the sealed chunks and the open one's capacity.
    #[cfg(test)]
    fn heap_bytes(&self) -> usize {
        self.sealed.capacity() * std::mem::size_of::<Box<[u8]>>()
            + self.sealed.iter().map(|chunk| chunk.len()).sum::<usize>()
            + self.open.capacity()
    }

    pub fn last(&self) -> Option<TimeseriesRow> {
        self.iter().last()
    }

    pub fn to_vec(&self) -> Vec<TimeseriesRow> {
        self.iter().collect()
    }
}

impl FromIterator<TimeseriesRow> for Rows {
    fn from_iter<I: IntoIterator<Item = TimeseriesRow>>(rows: I) -> Rows {
        let mut packed = Rows::new();
        for row in rows {
            packed.push(&row);
        }
        packed.shrink_to_fit();
        packed
    }
}

impl From<Vec<TimeseriesRow>> for Rows {
    fn from(rows: Vec<TimeseriesRow>) -> Rows {
        rows.into_iter().collect()
    }
}

impl<'a> IntoIterator for &'a Rows {
    type Item = TimeseriesRow;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// Decodes the rows in order.
pub struct Iter<'a> {
    sealed: &'a [Box<[u8]>],
    open: &'a [u8],
    /// The chunk being read: the sealed ones by index, then the open one (`sealed.len()`).
    chunk: usize,
    /// Its bytes: a sealed chunk inflated, the open one copied (at most one chunk's bytes,
    /// once per pass), so that reading has one place to read from.
    bytes: Vec<u8>,
    at: usize,
    last: [u64; INTEGERS],
    left: usize,
}

impl Iter<'_> {
    /// Makes `chunk` readable into `bytes`.
    fn load(&mut self) {
        self.bytes = match self.sealed.get(self.chunk) {
            Some(deflated) => miniz_oxide::inflate::decompress_to_vec(deflated)
                .expect("a sealed chunk inflates: it was deflated here"),
            None => self.open.to_vec(),
        };
    }
}

impl Iterator for Iter<'_> {
    type Item = TimeseriesRow;

    fn next(&mut self) -> Option<TimeseriesRow> {
        if self.left == 0 {
            return None;
        }
        if self.at == self.bytes.len() {
            self.chunk += 1;
            self.at = 0;
            self.load();
        }
        let mut decoder = Decoder {
            bytes: &self.bytes,
            at: self.at,
            last: &mut self.last,
            field: 0,
        };
        let row = decode(&mut decoder);
        self.at = decoder.at;
        self.left -= 1;
        Some(row)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Iter<'_> {}

fn encode(row: &TimeseriesRow, e: &mut Encoder) {
    let TimeseriesRow {
        t_s,
        instances_running,
        instances_starting,
        instances_desired,
        cpu_utilization,
        memory_bytes_max,
        memory_bytes_mean,
        memory_limit_bytes,
        cache_entries,
        open_conversations,
        workflow_task_backlog,
        activity_backlog,
        activities_running,
        messages_received,
        messages_unanswered,
        response_latency_p50_s,
        response_latency_p95_s,
        activity_schedule_to_start_p95_s,
        crashes,
        cache_misses,
        requests_in_flight,
        requests_waiting,
        requests_rejected,
        llm_latency_p95_s,
        llm_calls,
        llm_tokens_per_min,
        quota,
    } = row;
    e.float(*t_s);
    e.integer((*instances_running).into());
    e.integer((*instances_starting).into());
    e.integer((*instances_desired).into());
    e.float(*cpu_utilization);
    for value in [
        memory_bytes_max,
        memory_bytes_mean,
        memory_limit_bytes,
        cache_entries,
        open_conversations,
        workflow_task_backlog,
        activity_backlog,
        activities_running,
        messages_received,
        messages_unanswered,
        crashes,
        cache_misses,
        requests_in_flight,
        requests_waiting,
        requests_rejected,
    ] {
        e.integer(*value);
    }
    e.optional_float(*response_latency_p50_s);
    e.optional_float(*response_latency_p95_s);
    e.optional_float(*activity_schedule_to_start_p95_s);
    e.varint(llm_latency_p95_s.len() as u64);
    for &latency in llm_latency_p95_s {
        e.optional_float(latency);
    }
    e.varint(llm_calls.len() as u64);
    for &calls in llm_calls {
        e.varint(calls);
    }
    e.varint(llm_tokens_per_min.len() as u64);
    for &tokens in llm_tokens_per_min {
        e.float(tokens);
    }
    e.varint(quota.len() as u64);
    for sample in quota {
        let QuotaSample {
            rejected,
            requests_used,
            tokens_used,
            in_flight_max,
        } = *sample;
        e.varint(rejected);
        e.optional_float(requests_used);
        e.optional_float(tokens_used);
        e.varint(in_flight_max.map_or(0, |max| u64::from(max) + 1));
    }
}

fn decode(d: &mut Decoder) -> TimeseriesRow {
    let t_s = d.float();
    let instances_running = d.integer_u32();
    let instances_starting = d.integer_u32();
    let instances_desired = d.integer_u32();
    let cpu_utilization = d.float();
    let mut integers = [0u64; 15];
    for integer in &mut integers {
        *integer = d.integer();
    }
    let [
        memory_bytes_max,
        memory_bytes_mean,
        memory_limit_bytes,
        cache_entries,
        open_conversations,
        workflow_task_backlog,
        activity_backlog,
        activities_running,
        messages_received,
        messages_unanswered,
        crashes,
        cache_misses,
        requests_in_flight,
        requests_waiting,
        requests_rejected,
    ] = integers;
    let response_latency_p50_s = d.optional_float();
    let response_latency_p95_s = d.optional_float();
    let activity_schedule_to_start_p95_s = d.optional_float();
    let providers = d.varint() as usize;
    let llm_latency_p95_s = (0..providers).map(|_| d.optional_float()).collect();
    let providers = d.varint() as usize;
    let llm_calls = (0..providers).map(|_| d.varint()).collect();
    let providers = d.varint() as usize;
    let llm_tokens_per_min = (0..providers).map(|_| d.float()).collect();
    let quotas = d.varint() as usize;
    let quota = (0..quotas)
        .map(|_| QuotaSample {
            rejected: d.varint(),
            requests_used: d.optional_float(),
            tokens_used: d.optional_float(),
            in_flight_max: match d.varint() {
                0 => None,
                max => Some(u32::try_from(max - 1).expect("an in-flight maximum pushed as u32")),
            },
        })
        .collect();
    debug_assert_eq!(d.field, INTEGERS, "every integer field is decoded");
    TimeseriesRow {
        t_s,
        instances_running,
        instances_starting,
        instances_desired,
        cpu_utilization,
        memory_bytes_max,
        memory_bytes_mean,
        memory_limit_bytes,
        cache_entries,
        open_conversations,
        workflow_task_backlog,
        activity_backlog,
        activities_running,
        messages_received,
        messages_unanswered,
        response_latency_p50_s,
        response_latency_p95_s,
        activity_schedule_to_start_p95_s,
        crashes,
        cache_misses,
        requests_in_flight,
        requests_waiting,
        requests_rejected,
        llm_latency_p95_s,
        llm_calls,
        llm_tokens_per_min,
        quota,
    }
}

/// The most bytes `encode` can write for `row`: a varint of a u64 takes at most 10 bytes, a
/// raw float 9 (its tag and bits); every value is one or the other.
fn max_encoded_bytes(row: &TimeseriesRow) -> usize {
    // 2 floats, 18 integers, 3 optional floats and 4 lengths; then each provider's latency,
    // calls and tokens, and each quota's four values.
    const MOST: usize = 10;
    MOST * (27
        + row.llm_latency_p95_s.len()
        + row.llm_calls.len()
        + row.llm_tokens_per_min.len()
        + 4 * row.quota.len())
}

fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

fn unzigzag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

struct Encoder<'a> {
    bytes: &'a mut Vec<u8>,
    last: &'a mut [u64; INTEGERS],
    field: usize,
}

impl Encoder<'_> {
    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.bytes.push(value as u8 | 0x80);
            value >>= 7;
        }
        self.bytes.push(value as u8);
    }

    /// The next integer field, as its difference from the row before (wrapping: exact both
    /// ways for any two u64).
    fn integer(&mut self, value: u64) {
        let difference = value.wrapping_sub(self.last[self.field]) as i64;
        self.last[self.field] = value;
        self.field += 1;
        self.varint(zigzag(difference));
    }

    fn float(&mut self, value: f64) {
        for (k, scale) in SCALES.iter().enumerate() {
            let scaled = value * scale;
            // Also for NaN and the infinities; and then for every larger scale too.
            if scaled.is_nan() || scaled.abs() >= EXACT_INTEGER {
                break;
            }
            let n = scaled.round() as i64;
            if (n as f64 / scale).to_bits() == value.to_bits() {
                self.varint(zigzag(n) << 4 | k as u64);
                return;
            }
        }
        self.varint(TAG_RAW);
        self.bytes.extend_from_slice(&value.to_bits().to_le_bytes());
    }

    fn optional_float(&mut self, value: Option<f64>) {
        match value {
            Some(value) => self.float(value),
            None => self.varint(TAG_NONE),
        }
    }
}

struct Decoder<'a> {
    bytes: &'a [u8],
    at: usize,
    last: &'a mut [u64; INTEGERS],
    field: usize,
}

impl Decoder<'_> {
    fn varint(&mut self) -> u64 {
        let mut value = 0u64;
        let mut shift = 0;
        loop {
            let byte = self.bytes[self.at];
            self.at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return value;
            }
            shift += 7;
        }
    }

    fn integer(&mut self) -> u64 {
        let value = self.last[self.field].wrapping_add(unzigzag(self.varint()) as u64);
        self.last[self.field] = value;
        self.field += 1;
        value
    }

    fn integer_u32(&mut self) -> u32 {
        u32::try_from(self.integer()).expect("a u32 field pushed as u32")
    }

    fn optional_float(&mut self) -> Option<f64> {
        match self.varint() {
            TAG_NONE => None,
            word => Some(self.float_from(word)),
        }
    }

    fn float(&mut self) -> f64 {
        let word = self.varint();
        self.float_from(word)
    }

    /// A decimal word's low four bits are its scale (0..=9); the tags are whole words.
    fn float_from(&mut self, word: u64) -> f64 {
        if word == TAG_RAW {
            let bytes = self.bytes[self.at..self.at + 8]
                .try_into()
                .expect("eight bytes");
            self.at += 8;
            return f64::from_bits(u64::from_le_bytes(bytes));
        }
        let k = (word & 15) as usize;
        unzigzag(word >> 4) as f64 / SCALES[k]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator for the round trip (the model's RNG is not the point).
    struct Mix(u64);

    impl Mix {
        fn next(&mut self) -> u64 {
            // splitmix64
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        /// Floats of every kind the codec distinguishes: decimals at each scale, whole
        /// numbers, arbitrary bits (NaNs, infinities, subnormals, -0.0 among them), huge values.
        fn float(&mut self) -> f64 {
            match self.next() % 8 {
                0 => (self.next() % 100_000_000) as f64 / SCALES[(self.next() % 10) as usize],
                1 => -((self.next() % 1_000_000) as f64) / 1e6,
                2 => f64::from_bits(self.next()),
                3 => [
                    0.0,
                    -0.0,
                    f64::NAN,
                    f64::INFINITY,
                    f64::NEG_INFINITY,
                    f64::MIN_POSITIVE,
                ][(self.next() % 6) as usize],
                4 => (self.next() % 1000) as f64 * 60.0,
                5 => self.next() as f64,
                6 => (self.next() % 7) as f64 / 3.0,
                _ => f64::from_bits(self.next() >> 12),
            }
        }

        fn optional_float(&mut self) -> Option<f64> {
            if self.next().is_multiple_of(4) {
                None
            } else {
                Some(self.float())
            }
        }

        fn integer(&mut self) -> u64 {
            match self.next() % 4 {
                0 => self.next(),
                1 => self.next() % 10,
                2 => u64::MAX - self.next() % 3,
                _ => self.next() % 5_000_000_000,
            }
        }

        fn row(&mut self) -> TimeseriesRow {
            let providers = (self.next() % 4) as usize;
            let quotas = (self.next() % 3) as usize;
            TimeseriesRow {
                t_s: self.float(),
                instances_running: self.next() as u32,
                instances_starting: (self.next() % 3) as u32,
                instances_desired: u32::MAX - (self.next() % 2) as u32,
                cpu_utilization: self.float(),
                memory_bytes_max: self.integer(),
                memory_bytes_mean: self.integer(),
                memory_limit_bytes: self.integer(),
                cache_entries: self.integer(),
                open_conversations: self.integer(),
                workflow_task_backlog: self.integer(),
                activity_backlog: self.integer(),
                activities_running: self.integer(),
                messages_received: self.integer(),
                messages_unanswered: self.integer(),
                response_latency_p50_s: self.optional_float(),
                response_latency_p95_s: self.optional_float(),
                activity_schedule_to_start_p95_s: self.optional_float(),
                crashes: self.integer(),
                cache_misses: self.integer(),
                requests_in_flight: self.integer(),
                requests_waiting: self.integer(),
                requests_rejected: self.integer(),
                llm_latency_p95_s: (0..providers).map(|_| self.optional_float()).collect(),
                llm_calls: (0..providers).map(|_| self.integer()).collect(),
                llm_tokens_per_min: (0..providers).map(|_| self.float()).collect(),
                quota: (0..quotas)
                    .map(|_| QuotaSample {
                        rejected: self.integer(),
                        requests_used: self.optional_float(),
                        tokens_used: self.optional_float(),
                        in_flight_max: match self.next() % 3 {
                            0 => None,
                            1 => Some(u32::MAX),
                            _ => Some(self.next() as u32),
                        },
                    })
                    .collect(),
            }
        }
    }

    /// Every field's bits, so NaN rows compare (`TimeseriesRow`'s own equality is `f64`'s).
    fn bits(row: &TimeseriesRow) -> String {
        let float = |value: f64| format!("{:x}", value.to_bits());
        let optional = |value: Option<f64>| value.map_or("-".to_string(), float);
        let quota: Vec<String> = row
            .quota
            .iter()
            .map(|q| {
                format!(
                    "{} {} {} {:?}",
                    q.rejected,
                    optional(q.requests_used),
                    optional(q.tokens_used),
                    q.in_flight_max
                )
            })
            .collect();
        format!(
            "{} {} {:?}",
            float(row.t_s),
            float(row.cpu_utilization),
            (
                row.instances_running,
                row.instances_starting,
                row.instances_desired,
                [
                    row.memory_bytes_max,
                    row.memory_bytes_mean,
                    row.memory_limit_bytes,
                    row.cache_entries,
                    row.open_conversations,
                    row.workflow_task_backlog,
                    row.activity_backlog,
                    row.activities_running,
                    row.messages_received,
                    row.messages_unanswered,
                    row.crashes,
                    row.cache_misses,
                    row.requests_in_flight,
                    row.requests_waiting,
                    row.requests_rejected,
                ],
                [
                    optional(row.response_latency_p50_s),
                    optional(row.response_latency_p95_s),
                    optional(row.activity_schedule_to_start_p95_s),
                ],
                row.llm_latency_p95_s
                    .iter()
                    .map(|&v| optional(v))
                    .collect::<Vec<_>>(),
                row.llm_calls.clone(),
                row.llm_tokens_per_min
                    .iter()
                    .map(|&v| float(v))
                    .collect::<Vec<_>>(),
                quota,
            )
        )
    }

    #[test]
    fn rows_decode_to_the_bits_they_were_pushed_with() {
        let mut mix = Mix(20261204);
        let rows: Vec<TimeseriesRow> = (0..5000).map(|_| mix.row()).collect();
        let packed = Rows::from(rows.clone());
        assert_eq!(packed.len(), rows.len());
        assert!(packed.sealed.len() > 1, "the rows span several chunks");
        let decoded = packed.to_vec();
        assert_eq!(decoded.len(), rows.len());
        for (index, (pushed, read)) in rows.iter().zip(&decoded).enumerate() {
            assert_eq!(bits(pushed), bits(read), "row {index}");
        }
        assert_eq!(bits(&packed.last().unwrap()), bits(rows.last().unwrap()));
        // Every field differs from its default somewhere, so a field the codec dropped (read
        // back as its default) would fail above rather than pass by luck.
        let default = bits(&TimeseriesRow::default());
        assert!(rows.iter().all(|row| bits(row) != default));
    }

    #[test]
    fn a_row_larger_than_a_chunk_starts_a_larger_chunk() {
        let row = TimeseriesRow {
            llm_latency_p95_s: vec![Some(f64::from_bits(0x7ff8_dead_beef_0001)); 3000],
            llm_calls: vec![u64::MAX; 3000],
            llm_tokens_per_min: vec![0.1 + 0.2; 3000],
            ..TimeseriesRow::default()
        };
        let small = TimeseriesRow {
            t_s: 60.0,
            ..TimeseriesRow::default()
        };
        let packed = Rows::from(vec![small.clone(), row.clone(), small.clone()]);
        // The first row's chunk has no room for the second: it is sealed, and the open
        // chunk grows to the second's size; the third fits after it.
        assert_eq!(packed.sealed.len(), 1);
        assert!(packed.open.len() > CHUNK);
        let decoded = packed.to_vec();
        assert_eq!(
            [&small, &row, &small].map(bits).to_vec(),
            decoded.iter().map(bits).collect::<Vec<_>>()
        );
    }

    #[test]
    fn minute_rows_of_a_support_agent_day_pack_small() {
        // The shape of the shipped support-agent rows: whole-second times, microsecond
        // latencies, whole tokens a minute, a CPU share, slowly moving gauges.
        let rows: Vec<TimeseriesRow> = (1..=1440u64)
            .map(|minute| TimeseriesRow {
                t_s: (minute * 60) as f64,
                instances_running: 4,
                instances_desired: 4,
                cpu_utilization: (minute % 97) as f64 / 131.0,
                memory_bytes_max: 150_000_000 + minute * 9_973,
                memory_bytes_mean: 130_000_000 + minute * 7_919,
                memory_limit_bytes: 2 << 30,
                cache_entries: 100 + minute % 17,
                open_conversations: 90 + minute % 13,
                activities_running: 12,
                messages_received: 60 + minute % 29,
                response_latency_p50_s: Some((7_000_000 + minute * 997) as f64 / 1e6),
                response_latency_p95_s: Some((15_000_000 + minute * 991) as f64 / 1e6),
                activity_schedule_to_start_p95_s: Some(0.000001),
                llm_latency_p95_s: vec![Some(3.375103), Some(8.716287), Some(1.376255)],
                llm_calls: vec![40 + minute % 7, 150 + minute % 31, 70 + minute % 11],
                llm_tokens_per_min: vec![2245.0, 513_846.0, 79_689.0],
                ..TimeseriesRow::default()
            })
            .collect();
        let packed = Rows::from(rows.clone());
        let per_row = packed.heap_bytes() as f64 / packed.len() as f64;
        assert!(per_row < 80.0, "{per_row} bytes a row");
        // A week of them: the sealed chunks, deflated, hold less than half their bytes.
        let week: Vec<TimeseriesRow> = (0..7)
            .flat_map(|day| {
                rows.iter().map(move |row| TimeseriesRow {
                    t_s: row.t_s + (day * 86_400) as f64,
                    ..row.clone()
                })
            })
            .collect();
        let packed = Rows::from(week.clone());
        // Each chunk was sealed full, but for less than the room of one row (1 KiB here).
        let sealed: usize = packed.sealed.iter().map(|chunk| chunk.len()).sum();
        let before = packed.sealed.len() * (CHUNK - 1024);
        assert!(packed.sealed.len() >= 20, "{} chunks", packed.sealed.len());
        assert!(
            sealed * 2 < before,
            "{sealed} bytes deflated from at least {before}"
        );
        assert_eq!(
            packed.to_vec().iter().map(bits).collect::<Vec<_>>(),
            week.iter().map(bits).collect::<Vec<_>>()
        );
        assert!(
            std::mem::size_of::<TimeseriesRow>() > 250,
            "a row held whole is several times larger"
        );
    }
}
