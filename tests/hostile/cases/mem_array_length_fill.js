// expect: MEMORY_LIMIT
// A huge array length made dense by fill().
function main() {
    return new Array(2 ** 31).fill(0).length;
}
