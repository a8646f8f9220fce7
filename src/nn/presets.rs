//! Named networks a learner can pick on the training screen instead of typing one: the
//! course's net first (the default), then variations that each change one idea, so a run
//! beside the course's shows what that idea does.

use super::arch::COURSE_NET;

/// A named network: what it is called on screen, its text ([`super::arch::Arch::parse`]),
/// and one line on what it changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    /// The name on the training screen.
    pub name: &'static str,
    /// The network, in the description language.
    pub text: &'static str,
    /// What it changes compared with the course's net.
    pub about: &'static str,
}

/// The presets, the course's net first.
pub const PRESETS: [Preset; 10] = [
    Preset {
        name: "the course's net",
        text: COURSE_NET,
        about: "three 3x3 convolutions, max pooling, dropout, one linear layer",
    },
    Preset {
        name: "smaller",
        text: "conv(6,3) maxpool(2) relu conv(6,3) maxpool(2) relu conv(12,3) dropout2d(0.2) relu dropout(0.5) flatten linear",
        about: "half the filters in every convolution",
    },
    Preset {
        name: "wider",
        text: "conv(24,3) maxpool(2) relu conv(24,3) maxpool(2) relu conv(48,3) dropout2d(0.2) relu dropout(0.5) flatten linear",
        about: "twice the filters in every convolution",
    },
    Preset {
        name: "5x5 first layer",
        text: "conv(12,5) maxpool(2) relu conv(12,3) maxpool(2) relu conv(24,3) dropout2d(0.2) relu dropout(0.5) flatten linear",
        about: "the first filters see 5x5 pixels instead of 3x3",
    },
    Preset {
        name: "no pooling",
        text: "conv(12,3,stride=2) relu conv(12,3,stride=2) relu conv(24,3) dropout2d(0.2) relu dropout(0.5) flatten linear",
        about: "strided convolutions shrink the maps instead of max pooling",
    },
    Preset {
        name: "one conv layer",
        text: "conv(12,3) maxpool(4) relu dropout(0.5) flatten linear",
        about: "a single convolution, then straight to the classes",
    },
    Preset {
        name: "four conv layers",
        text: "conv(12,3) maxpool(2) relu conv(12,3) maxpool(2) relu conv(24,3) maxpool(2) relu conv(24,3) dropout2d(0.2) relu dropout(0.5) flatten linear",
        about: "one more convolution and pooling before the classes",
    },
    Preset {
        name: "with batch norm",
        text: "conv(12,3) batchnorm maxpool(2) relu conv(12,3) batchnorm maxpool(2) relu conv(24,3) batchnorm dropout2d(0.2) relu dropout(0.5) flatten linear",
        about: "each convolution's maps normalised over the batch",
    },
    Preset {
        name: "no convolution (MLP)",
        text: "avgpool(4) flatten linear(64) relu dropout(0.5) linear",
        about: "pixels (averaged 4x4) straight into fully connected layers",
    },
    Preset {
        name: "hidden linear layer",
        text: "conv(12,3) maxpool(2) relu conv(12,3) maxpool(2) relu conv(24,3) dropout2d(0.2) relu dropout(0.5) flatten linear(32) relu linear",
        about: "a fully connected layer of 32 between the maps and the classes",
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::arch::{Arch, Plan, DEFAULT_INPUT};

    #[test]
    fn every_preset_is_a_network_that_plans() {
        assert_eq!(PRESETS[0].text, COURSE_NET);
        let mut names: Vec<&str> = PRESETS.iter().map(|p| p.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), PRESETS.len(), "names are unique");
        for p in PRESETS {
            let arch = Arch::parse(p.text).unwrap_or_else(|e| panic!("{}: {e}", p.name));
            for classes in [2, 3, 10] {
                let plan = Plan::new(&arch, DEFAULT_INPUT, classes)
                    .unwrap_or_else(|e| panic!("{}: {e}", p.name));
                assert!(plan.param_count() > 0, "{}", p.name);
            }
        }
        let count = |i: usize| {
            Plan::new(&Arch::parse(PRESETS[i].text).unwrap(), DEFAULT_INPUT, 3)
                .unwrap()
                .param_count()
        };
        assert!(
            count(1) < count(0) && count(0) < count(2),
            "smaller < course < wider"
        );
    }
}
