function main() { while (true) {} }
