"""LangChain's own standard suites (langchain-tests) for our retriever and embeddings, plus the retriever's contract."""

import asyncio

import pytest
from langchain_core.documents import Document
from langchain_tests.integration_tests import EmbeddingsIntegrationTests, RetrieversIntegrationTests
from langchain_tests.unit_tests import EmbeddingsUnitTests

from assistant.schema import Chunk, Passage
from assistant.search.embeddings import MiniLMEmbeddings, make_embeddings
from assistant.search.langchain_retriever import PassageRetriever, to_document, to_passage
from tests.conftest import make_settings

QUESTION = "How should a GP federation manage conflicts of interest?"


class TestMiniLMEmbeddingsUnit(EmbeddingsUnitTests):
    """The packaged int8 MiniLM against LangChain's unit suite for embeddings."""

    @property
    def embeddings_class(self) -> type[MiniLMEmbeddings]:
        return MiniLMEmbeddings


class TestMiniLMEmbeddingsIntegration(EmbeddingsIntegrationTests):
    """The packaged int8 MiniLM against LangChain's integration suite for embeddings (it runs offline)."""

    @property
    def embeddings_class(self) -> type[MiniLMEmbeddings]:
        return MiniLMEmbeddings


def test_the_default_settings_embed_with_the_minilm_the_standard_suites_test(tmp_path):
    assert isinstance(make_embeddings(make_settings(tmp_path)), MiniLMEmbeddings)


@pytest.mark.slow
class TestPassageRetrieverStandard(RetrieversIntegrationTests):
    """The LangChain retriever over the real index of the five reports, against LangChain's retriever suite."""

    @pytest.fixture(autouse=True)
    def _over_the_real_index(self, assistant):
        self._assistant = assistant

    @property
    def retriever_constructor(self) -> type[PassageRetriever]:
        return PassageRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"search": self._assistant.retrieve}

    @property
    def retriever_query_example(self) -> str:
        return QUESTION


def test_a_passage_survives_the_trip_through_a_document_exactly():
    chunk = Chunk(chunk_id="c1", doc_id="d1", title="Making it work", year=2015, section="Governance", page=12,
                  text="The board has nine GPs.", case_study="Suffolk GP Federation", publisher="Nuffield Trust",
                  position=3)
    passage = Passage(rank=2, chunk=chunk, score=0.123456789)
    document = to_document(passage)
    assert document.page_content == chunk.text and document.id == "c1"
    assert {"chunk_id": "c1", "title": "Making it work", "year": 2015, "section": "Governance", "page": 12,
            "case_study": "Suffolk GP Federation", "rank": 2, "score": 0.123456789}.items() <= document.metadata.items()
    assert to_passage(document) == passage


@pytest.mark.slow
def test_invoke_with_k_returns_exactly_k_documents_and_the_default_k_otherwise(assistant):
    retriever = assistant.as_retriever(k=2)
    assert len(retriever.invoke(QUESTION, k=1)) == 1
    assert len(retriever.invoke(QUESTION)) == 2
    assert len(asyncio.run(retriever.ainvoke(QUESTION, k=3))) == 3
    assert assistant.as_retriever().k == assistant.settings.top_k


@pytest.mark.slow
def test_documents_are_the_passages_of_assistant_retrieve_with_their_citation_facts(assistant):
    documents = assistant.as_retriever(k=4).invoke(QUESTION)
    assert all(isinstance(d, Document) for d in documents)
    assert [to_passage(d) for d in documents] == list(assistant.retrieve(QUESTION, 4).passages)
    assert [d.metadata["rank"] for d in documents] == [1, 2, 3, 4]


@pytest.mark.slow
def test_unknown_keywords_and_a_k_below_one_are_rejected_with_the_reason(assistant):
    retriever = assistant.as_retriever()
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) foo; it accepts: k"):
        retriever.invoke(QUESTION, foo=1)
    with pytest.raises(TypeError, match="foo"):
        asyncio.run(retriever.ainvoke(QUESTION, foo=1))
    with pytest.raises(ValueError, match="k must be a whole number of at least 1, not 0"):
        retriever.invoke(QUESTION, k=0)
