from django.urls import path

from experiments.api import views

urlpatterns = [
    path("experiments/", views.ExperimentListView.as_view(), name="api-experiment-list"),
    path("experiments/<slug:key>/", views.ExperimentDetailView.as_view(), name="api-experiment-detail"),
    path("experiments/<slug:key>/start/", views.ExperimentStartView.as_view(), name="api-experiment-start"),
    path("experiments/<slug:key>/pause/", views.ExperimentPauseView.as_view(), name="api-experiment-pause"),
    path("experiments/<slug:key>/stop/", views.ExperimentStopView.as_view(), name="api-experiment-stop"),
    path("experiments/<slug:key>/results/", views.ExperimentResultsView.as_view(), name="api-experiment-results"),
    path("impressions/", views.ImpressionCreateView.as_view(), name="api-impression-create"),
]
