//! What the benches share: the loop whose instructions `benches/instructions.sh` counts.

/// Runs `op` `n` times. Never inlined, so that callgrind can count exactly the instructions
/// executed inside it (`--toggle-collect='*counted*'`), set-up and tear-down excluded.
#[inline(never)]
pub fn counted(n: usize, mut op: impl FnMut()) {
    for _ in 0..n {
        op();
    }
}
