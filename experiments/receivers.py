"""Keep experiment rows with the customer they belong to when shop merges customers."""

from django.dispatch import receiver

from experiments.models import Assignment, Impression
from shop.models import Customer
from shop.signals import customer_merged


@receiver(customer_merged, sender=Customer)
def experiments_follow_merged_customer(*, source: Customer, target: Customer, **kwargs) -> None:
    """Move the visitor's assignments (where the user has none in that experiment) and impressions to the user.

    A signed-in user keeps the variant they already see on their other devices; an experiment
    they meet first as this visitor keeps the visitor's variant. The visitor's impressions in an
    experiment where the user's variant wins stop counting for it (clicks carry the experiment in
    their context and still count, under the user's variant: a known, small leak).
    """
    taken = list(Assignment.objects.filter(customer=target).values_list("experiment_id", flat=True))
    Assignment.objects.filter(customer=source).exclude(experiment_id__in=taken).update(customer=target)
    # What the visitor saw in another variant of an experiment the user is already in no longer counts.
    Impression.objects.filter(customer=source, experiment_id__in=taken).update(experiment=None, variant=None)
    Impression.objects.filter(customer=source).update(customer=target)
