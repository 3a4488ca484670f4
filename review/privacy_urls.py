from django.urls import path

from review import privacy

app_name = "privacy"

urlpatterns = [
    path("", privacy.index_view, name="index"),
    path("<slug:slug>/", privacy.sheet_view, name="sheet"),
    path("<slug:slug>/listing/", privacy.listing_view, name="listing"),
    path("<slug:slug>/changes/<int:change_id>/reconsent/", privacy.reconsent_view, name="reconsent"),
]
