from trainforge.cli.main import main

main()
