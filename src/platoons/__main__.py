from platoons.cli import main

main()
