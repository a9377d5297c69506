"""/api/reports/…: the report figures as JSON. Managers and the Admin see everything; an agent sees their own
figures only (``agent`` may name nobody else: 403), and not the leaderboard; everybody else is refused."""

from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer

from apps.accounts.permissions import IsAgentOrManager, IsManager, user_has_role
from apps.accounts.roles import MANAGERS
from apps.reports.selectors import (
    Dimension,
    ReportFilters,
    report_breakdown,
    report_calibration,
    report_heatmap,
    report_leaderboard,
    report_low_rating_comments,
    report_periods,
    report_summary,
)
from apps.reports.serializers import (
    BreakdownQuerySerializer,
    CalibrationSerializer,
    CommentsQuerySerializer,
    FiguresSerializer,
    HeatmapSerializer,
    LeaderboardQuerySerializer,
    LowRatingCommentSerializer,
    ReportQuerySerializer,
)
from apps.reports.tables import WEEKDAYS


class ReportViewSet(viewsets.ViewSet):
    permission_classes = [IsAgentOrManager]

    def _query(self, request: Request, serializer_class: type[Serializer]) -> tuple[Serializer, ReportFilters]:
        query = serializer_class(data=request.query_params)
        query.is_valid(raise_exception=True)
        asked = query.validated_data.get("agent")
        if user_has_role(request.user, MANAGERS):
            return query, query.report_filters(agent_id=asked)
        if asked is not None and asked != request.user.pk:
            raise PermissionDenied("Agents see their own figures only.")
        return query, query.report_filters(agent_id=request.user.pk)

    @extend_schema(
        summary="Every figure over the matching conversations",
        parameters=[ReportQuerySerializer],
        responses=FiguresSerializer,
    )
    @action(detail=False, methods=["get"])
    def summary(self, request: Request) -> Response:
        _, filters = self._query(request, ReportQuerySerializer)
        return Response(FiguresSerializer(report_summary(filters=filters)).data)

    @extend_schema(
        summary="The figures per agent, team, intent, channel or period",
        parameters=[BreakdownQuerySerializer],
        responses=FiguresSerializer(many=True),
    )
    @action(detail=False, methods=["get"])
    def breakdown(self, request: Request) -> Response:
        query, filters = self._query(request, BreakdownQuerySerializer)
        by = query.validated_data["by"]
        if by == "period":
            rows = report_periods(filters=filters, period=query.validated_data["period"])
        else:
            rows = report_breakdown(filters=filters, by=Dimension(by))
        return Response(FiguresSerializer(rows, many=True).data)

    @extend_schema(
        summary="The agents' figures, sorted (managers)",
        parameters=[LeaderboardQuerySerializer],
        responses=FiguresSerializer(many=True),
    )
    @action(detail=False, methods=["get"], permission_classes=[IsManager])
    def leaderboard(self, request: Request) -> Response:
        query, filters = self._query(request, LeaderboardQuerySerializer)
        rows = report_leaderboard(
            filters=filters, sort=query.validated_data["sort"], descending=query.validated_data["order"] == "desc"
        )
        return Response(FiguresSerializer(rows, many=True).data)

    @extend_schema(
        summary="Conversations started per weekday and hour",
        parameters=[ReportQuerySerializer],
        responses=HeatmapSerializer,
    )
    @action(detail=False, methods=["get"])
    def heatmap(self, request: Request) -> Response:
        _, filters = self._query(request, ReportQuerySerializer)
        return Response({"weekdays": list(WEEKDAYS), "cells": report_heatmap(filters=filters)})

    @extend_schema(
        summary="Predicted against actual satisfaction",
        parameters=[ReportQuerySerializer],
        responses=CalibrationSerializer,
    )
    @action(detail=False, methods=["get"])
    def calibration(self, request: Request) -> Response:
        _, filters = self._query(request, ReportQuerySerializer)
        return Response(CalibrationSerializer(report_calibration(filters=filters)).data)

    @extend_schema(
        summary="Comments of low ratings (1-2), the latest first",
        parameters=[CommentsQuerySerializer],
        responses=LowRatingCommentSerializer(many=True),
    )
    @action(detail=False, methods=["get"])
    def comments(self, request: Request) -> Response:
        query, filters = self._query(request, CommentsQuerySerializer)
        comments = report_low_rating_comments(filters=filters, limit=query.validated_data["limit"])
        return Response(LowRatingCommentSerializer(comments, many=True).data)
