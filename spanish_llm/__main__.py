"Run the command line with `python -m spanish_llm`."
from spanish_llm.cli import main

if __name__ == "__main__":
    main()
