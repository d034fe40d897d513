//! Part sizing for R2 multipart uploads.
//!
//! R2 wants every part but the last to have the same size, at least 5 MiB, and at most
//! 10,000 parts ([`crate::store::limits`]). The size is chosen once, at the start of an upload, from the declared
//! length when known, else from the largest file the service accepts, so that any file
//! up to that maximum fits.

use crate::config::MIB;
use crate::error::{Error, Result};
use crate::store::limits::R2_MAX_PARTS;

/// The part size chosen for one upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartPlan {
    pub part_size: u64,
}

impl PartPlan {
    /// Chooses the part size. `declared` is the length the client announced, if any;
    /// `max_file` the service's limit; `min_part` the configured floor (≥ 5 MiB).
    /// Part sizes are whole MiB so that they read well in logs.
    pub fn new(declared: Option<u64>, max_file: u64, min_part: u64) -> Result<PartPlan> {
        if let Some(len) = declared {
            if len > max_file {
                return Err(Error::TooLarge { max: max_file });
            }
        }
        let target = declared.unwrap_or(max_file);
        let needed = target.div_ceil(R2_MAX_PARTS).div_ceil(MIB) * MIB;
        Ok(PartPlan { part_size: needed.max(min_part) })
    }

    /// How many parts a file of `len` bytes takes (0 for an empty file).
    pub fn parts_for(&self, len: u64) -> u64 {
        len.div_ceil(self.part_size)
    }

    /// Is a file of this length written with a single `put` rather than a multipart upload?
    pub fn is_single_put(&self, len: u64) -> bool {
        len <= self.part_size
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const GIB: u64 = 1024 * MIB;
    const FIVE: u64 = 5 * MIB;

    #[test]
    fn part_size_table() {
        let max = 5 * GIB;
        let rows: &[(Option<u64>, u64)] = &[
            (Some(0), FIVE),
            (Some(1), FIVE),
            (Some(MIB), FIVE),
            (Some(FIVE), FIVE),
            (Some(64 * MIB), FIVE),
            (Some(256 * MIB), FIVE),
            (Some(GIB), FIVE),
            (Some(max), FIVE), // 5 GiB / 10,000 = 524 KiB, under the floor
            (None, FIVE),
        ];
        for (declared, want) in rows {
            let plan = PartPlan::new(*declared, max, FIVE).unwrap();
            assert_eq!(plan.part_size, *want, "declared {declared:?}");
        }
    }

    #[test]
    fn large_maxima_never_exceed_ten_thousand_parts() {
        for max in [5 * GIB, 50 * GIB, 100 * GIB, 1024 * GIB, 5 * 1024 * GIB, 48828 * MIB + 1] {
            for declared in [None, Some(max), Some(max / 2), Some(max - 1), Some(0)] {
                let plan = PartPlan::new(declared, max, FIVE).unwrap();
                assert!(plan.part_size >= FIVE);
                assert_eq!(plan.part_size % MIB, 0);
                let len = declared.unwrap_or(max);
                assert!(plan.parts_for(len) <= R2_MAX_PARTS, "max {max} declared {declared:?}");
                // and no larger than that needs: a whole MiB less would not fit (or would be
                // under the floor), so a declared length gets its own, smaller parts
                let smaller = plan.part_size - MIB;
                assert!(smaller < FIVE || len.div_ceil(smaller) > R2_MAX_PARTS, "max {max} declared {declared:?}");
            }
        }
        let plan = PartPlan::new(None, 100 * GIB, FIVE).unwrap();
        assert_eq!(plan.part_size, 11 * MIB); // 100 GiB / 10,000 = 10.24 MiB, rounded up
    }

    #[test]
    fn declared_over_the_maximum_is_refused() {
        assert_eq!(PartPlan::new(Some(GIB + 1), GIB, FIVE), Err(Error::TooLarge { max: GIB }));
        assert!(PartPlan::new(Some(GIB), GIB, FIVE).is_ok());
    }

    #[test]
    fn configured_floor_is_honoured() {
        assert_eq!(PartPlan::new(Some(1), GIB, 8 * MIB).unwrap().part_size, 8 * MIB);
    }

    #[test]
    fn single_put_up_to_one_part() {
        let p = PartPlan { part_size: FIVE };
        assert!(p.is_single_put(0));
        assert!(p.is_single_put(FIVE));
        assert!(!p.is_single_put(FIVE + 1));
        assert_eq!(p.parts_for(0), 0);
        assert_eq!(p.parts_for(FIVE + 1), 2);
    }
}
