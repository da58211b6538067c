# 补发/改送 (helper h2): superseded rows stay as history; one live row per agency; the package per row.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('workflows', '0002_distributionrecipient_copies_and_more'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='distributionrecipient',
            name='distribution_unique_agency',
        ),
        migrations.AddField(
            model_name='distributionrecipient',
            name='package_id',
            field=models.UUIDField(blank=True, null=True, verbose_name='交换包标识'),
        ),
        migrations.AddField(
            model_name='distributionrecipient',
            name='replaces',
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='replaced_by', to='workflows.distributionrecipient', verbose_name='替代'),
        ),
        migrations.AlterField(
            model_name='distributionrecipient',
            name='status',
            field=models.CharField(choices=[('pending', '待签收'), ('signed', '已签收'), ('returned', '已退回'), ('withdrawn', '已取回'), ('reissued', '已补发'), ('redirected', '已改送')], default='pending', max_length=12, verbose_name='状态'),
        ),
        migrations.AddConstraint(
            model_name='distributionrecipient',
            constraint=models.UniqueConstraint(condition=models.Q(('status__in', ['reissued', 'redirected']), _negated=True), fields=('document', 'agency'), name='distribution_unique_live_agency'),
        ),
    ]
