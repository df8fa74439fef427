//! Placeholder: implemented in its own issue.

use super::{Ctx, Docs, Fix};

pub struct LocalPv;

impl Fix for LocalPv {
    fn apply(&self, _docs: &mut Docs, _ctx: &mut Ctx) -> Result<(), String> {
        Ok(())
    }
}
