"""The recommender: trained by the registry from implicit feedback with its offline figures, served without
torch, blending history, content and popularity; never an item the customer has or an inactive product."""

import numpy as np
import pytest

from apps.assistant.models import ModelAlias, ModelVersion
from apps.assistant.recommending import RecommenderModel
from apps.assistant.registry import model_version_load_checked
from apps.assistant.selectors import model_alias_version
from apps.assistant.training import model_version_train
from apps.customers.models import Customer
from apps.recommendations.models import Interaction, Product
from apps.recommendations.services import interaction_record
from apps.recommendations.serving import recommendations_for
from tests.assistant.registry_helpers import intent_examples_store
from tests.recommendations.conftest import SAVING, TRAVEL

pytestmark = pytest.mark.django_db


@pytest.fixture
def trained(tiny_encoder, history) -> ModelVersion:
    return model_version_train(kind="recommender", fast=False, actor=None)


def test_training_registers_a_ready_champion_with_its_offline_figures(trained, catalogue):
    assert trained.status == ModelVersion.Status.READY
    assert model_alias_version(model=trained.model, alias=ModelAlias.Name.CHAMPION) == trained
    metrics = trained.metrics
    for prefix in ("", "popularity_", "content_", "collaborative_"):
        assert 0 <= metrics[f"{prefix}ndcg_at_10"] <= 1
        assert 0 <= metrics[f"{prefix}recall_at_10"] <= 1
    assert (metrics["interactions"], metrics["customers"], metrics["items"]) == (96, 32, 10)
    assert metrics["test_customers"] >= 1
    model = RecommenderModel.load(model_version_load_checked(trained))
    assert model.item_factors.shape == (10, 32)
    assert np.allclose(np.linalg.norm(model.item_vectors, axis=1), 1, atol=1e-4)


def test_a_known_customer_gets_the_product_their_group_uses_and_they_have_not(trained, history, catalogue):
    for group, slugs in (("travel", TRAVEL), ("saving", SAVING)):
        customer = history[group][0]  # left out the group's second product
        [first, *_] = recommendations_for(customer=customer, k=3)
        assert first.item == f"product:{catalogue[slugs[1]].pk}"
        assert first.why == "for you"


def test_items_the_customer_already_has_are_not_recommended_again(trained, history, catalogue):
    customer = history["travel"][0]  # viewed travel-insurance, fx-card and roaming-pack
    lounge = f"product:{catalogue['lounge-pass'].pk}"
    interaction_record(customer=customer, item=lounge, action="purchase", source="host")

    shown = {r.item for r in recommendations_for(customer=customer, k=10)}

    had = {f"product:{catalogue[slug].pk}" for slug in ("travel-insurance", "fx-card", "roaming-pack")} | {lounge}
    assert shown.isdisjoint(had)
    assert len(shown) == 10 - 4


def test_inactive_products_are_never_recommended(trained, history, catalogue):
    Product.objects.filter(pk=catalogue["lounge-pass"].pk).update(active=False)

    for customer in [*history["travel"], *history["saving"]]:
        assert f"product:{catalogue['lounge-pass'].pk}" not in {
            r.item for r in recommendations_for(customer=customer, k=10)
        }


def test_a_brand_new_customer_gets_popular_items_then_related_ones_once_they_ask(tiny_encoder, history, catalogue):
    intent_examples_store()  # the intents' texts: what a question's intent means to the content signal
    model_version_train(kind="recommender", fast=False, actor=None)
    newcomer = Customer.objects.create(name="New")

    popular = recommendations_for(customer=newcomer, k=2)
    related = recommendations_for(customer=newcomer, intent="card_arrival", k=2)

    assert [r.why for r in popular] == ["popular", "popular"]
    assert {r.item for r in popular} == {
        f"product:{catalogue['travel-insurance'].pk}",
        f"product:{catalogue['isa-account'].pk}",
    }
    assert [r.why for r in related] == ["related", "related"]


def test_before_any_recommender_is_trained_the_most_used_items_are_shown(history, catalogue):
    newcomer = Customer.objects.create(name="New")

    recommendations = recommendations_for(customer=newcomer, k=2)

    assert [r.why for r in recommendations] == ["popular", "popular"]
    assert {r.item for r in recommendations} == {
        f"product:{catalogue['travel-insurance'].pk}",
        f"product:{catalogue['isa-account'].pk}",
    }
    assert recommendations[0].title in {"Travel Insurance", "Isa Account"}


def test_a_recommended_article_links_to_the_help_centre(history, catalogue):
    customer = Customer.objects.create(name="Reader")
    for other in history["travel"][:3]:
        interaction_record(customer=other, item="article:where-is-my-card", action="helpful", source="widget")
    Interaction.objects.filter(product__isnull=False).delete()

    [recommendation] = recommendations_for(customer=customer, k=1)

    assert (recommendation.kind, recommendation.url) == ("article", "/help/where-is-my-card/")
    assert recommendation.summary == "Cards arrive in 5 days."
