// expect: {"pow":"340282366920938463463374607431768211456","hex":"ffffffffffffffffffffffffffffffff","mod":"1","neg":"-12345678901234567890","shift":"1267650600228229401496703205376","fits":false}
// BigInt arithmetic inside the function (converted to strings for the result), including a
// hex print whose top limb has its high bit set (the bug that ruled out older QuickJS).
function main() {
    const p = 2n ** 128n;
    return {
        pow: p.toString(),
        hex: (p - 1n).toString(16),
        mod: ((2n ** 3n) % 7n).toString(),
        neg: (-12345678901234567890n).toString(),
        shift: (1n << 100n).toString(),
        fits: Number.isSafeInteger(Number(p)),
    };
}
