# language: zh-CN
功能: UC-01 以项目标识和私有密码登录（接口说明：Using the API / 网页登录）

  场景: 测试项目以其私有密码登录后可以查看自己的项目
    假如 以测试账户“alice”登录
    当 调用操作“project”
    那么 操作成功
    而且 应答字段“id”为“<alice.用户名>”
