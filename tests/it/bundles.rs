//! (being written)
#[test]
fn bundles_zz_timing() {
    use std::io::{Read, Write};
    let t = std::time::Instant::now();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..256 {
        enc.write_all(&chunk).expect("w");
    }
    let bytes = enc.finish().expect("f");
    eprintln!("compress 256 MiB: {:?}, {} bytes", t.elapsed(), bytes.len());
    let t = std::time::Instant::now();
    let mut dec = flate2::bufread::GzDecoder::new(&bytes[..]);
    let mut buf = vec![0u8; 64 * 1024];
    let mut n = 0usize;
    loop {
        let r = dec.read(&mut buf).expect("r");
        if r == 0 {
            break;
        }
        n += r;
        if n > 100 << 20 {
            break;
        }
    }
    eprintln!("decompress 100 MiB: {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let mut c = flate2::Crc::new();
    c.update(&chunk);
    eprintln!("crc 1 MiB: {:?}", t.elapsed());
}
