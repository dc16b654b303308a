from smsgrid.cli.main import main

main()
