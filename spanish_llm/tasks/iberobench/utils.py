"""Document processing for the IberoBench tasks, after lm-evaluation-harness 0.4.13 (spanish_bench, catalan_bench,
basque_bench and galician_bench utils.py, MIT), without their imports of generation metrics."""
import re


def general_detokenize(string) -> str:
    string = string.replace(" n't", "n't")
    string = string.replace(" )", ")")
    string = string.replace("( ", "(")
    string = string.replace('" ', '"')
    string = string.replace(' "', '"')
    string = re.sub(r" (['.,])", r"\1", string)
    return string


def lowercase_first_letter(text):
    return text[0].lower() + text[1:]


def _paraphrases(dataset, detokenize: bool):
    "PAWS-X pairs: (optionally detokenized), first sentence without its final punctuation, second one lower-cased."
    def _process_doc(doc):
        if detokenize:
            doc["sentence1"] = general_detokenize(doc["sentence1"]).strip()
            doc["sentence2"] = general_detokenize(doc["sentence2"]).strip()
        # Remove final punctuation mark in the first sentence
        if doc["sentence1"].endswith((".", ",", ";")):
            doc["sentence1"] = doc["sentence1"][:-1]
        # Start the second sentence in lowercase (to be used after "Yes, ...")
        doc["sentence2"] = lowercase_first_letter(doc["sentence2"])
        return doc

    return dataset.filter(
        lambda doc: doc["sentence1"] not in [None, ""] and doc["sentence2"] not in [None, ""]
    ).map(_process_doc)


def process_docs_paraphrases(dataset):
    "spanish_bench's and catalan_bench's PAWS-X: detokenized."
    return _paraphrases(dataset, detokenize=True)


process_docs_paws = process_docs_paraphrases  # galician_bench's copy is the same function


def paws_process_docs(dataset):
    "basque_bench's variant: no detokenization."
    return _paraphrases(dataset, detokenize=False)


def _lower_choices(dataset):
    def _process_doc(doc):
        doc["choice1"] = lowercase_first_letter(doc["choice1"])
        doc["choice2"] = lowercase_first_letter(doc["choice2"])
        return doc

    return dataset.map(_process_doc)


process_docs_copa_es = process_docs_copa_ca = _lower_choices

xcopa_connectors = {"cause": " Izan ere,", "effect": " Beraz,"}


def xcopa_doc_to_text(doc):
    conn = xcopa_connectors[doc["question"]]
    return doc["premise"].strip() + f"{conn}"


def xcopa_doc_to_choice(doc):
    def convert_choice(choice):
        return choice[0].lower() + choice[1:]

    return [convert_choice(doc["choice1"]), convert_choice(doc["choice2"])]
