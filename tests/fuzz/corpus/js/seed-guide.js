function main(input) { return { result: input.value * 2 }; }
