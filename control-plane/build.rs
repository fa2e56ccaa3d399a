// Release builds embed dashboard/dist; rebuild the control plane whenever it changes
// (a new dashboard build names its files anew, which the embedding alone would miss).
fn main() {
    println!("cargo:rerun-if-changed=../dashboard/dist");
}
