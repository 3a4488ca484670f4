from django.urls import path

from review import privacy

urlpatterns = [path("<slug:slug>/", privacy.FactSheetView.as_view(), name="api-privacy")]
