// expect: {"bytes":[1,2,255,0],"clamped":[0,255,128],"view":258,"f64":3.5,"sum":10,"sliced":[2,3],"le":"04030201"}
// Typed arrays, ArrayBuffer, DataView, endianness.
function main() {
    const u8 = new Uint8Array([1, 2, 255, 256]);
    const c = new Uint8ClampedArray([-5, 300, 127.5]);
    const dv = new DataView(new ArrayBuffer(8));
    dv.setUint16(0, 258);
    dv.setUint32(4, 0x01020304, true);
    const f = new Float64Array([3.5]);
    const i32 = Int32Array.from([1, 2, 3, 4]);
    const le = [...new Uint8Array(dv.buffer, 4, 4)].map((b) => b.toString(16).padStart(2, "0")).join("");
    return { bytes: Array.from(u8), clamped: Array.from(c), view: dv.getUint16(0), f64: f[0],
             sum: i32.reduce((a, b) => a + b, 0), sliced: Array.from(i32.subarray(1, 3)), le };
}
