function main( { return
