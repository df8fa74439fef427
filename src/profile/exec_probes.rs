//! Placeholder: implemented in its own issue.

use super::{Ctx, Docs, Fix};

pub struct ExecProbes;

impl Fix for ExecProbes {
    fn apply(&self, _docs: &mut Docs, _ctx: &mut Ctx) -> Result<(), String> {
        Ok(())
    }
}
